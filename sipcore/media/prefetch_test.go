package media

import (
	"testing"
	"unsafe"
)

// TestPrefetchNeverFaults: sendFrames prefetches whatever a listener
// points to, and a prefetch is only a hint, so no address may fault.
func TestPrefetchNeverFaults(t *testing.T) {
	var x [128]byte
	for _, p := range []unsafe.Pointer{nil, unsafe.Pointer(&x[0]), unsafe.Pointer(&x[127])} {
		prefetch(p)
	}
}
