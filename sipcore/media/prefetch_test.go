package media

import (
	"testing"
	"unsafe"
)

// TestPrefetchNeverFaults: a prefetch is a hint, so nil and a pointer
// into the middle of an object must pass without a fault (sendFrames
// itself passes live objects only).
func TestPrefetchNeverFaults(t *testing.T) {
	var x [128]byte
	for _, p := range []unsafe.Pointer{nil, unsafe.Pointer(&x[0]), unsafe.Pointer(&x[127])} {
		prefetch(p)
	}
}
