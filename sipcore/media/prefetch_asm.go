//go:build amd64 || arm64

package media

import "unsafe"

// prefetch asks the CPU to start loading p's cache line and returns at
// once; p may be nil. Go has no prefetch of its own outside the runtime.
//
//go:noescape
func prefetch(p unsafe.Pointer)
