//go:build !linux

package media

import "net/netip"

// Elsewhere a port's socket is closed with its call (keep_linux.go).

func keepsSockets(netip.Addr) bool           { return false }
func keepFD(int, netip.AddrPort) bool        { return false }
func reuseFD(int, netip.AddrPort) *udpSocket { return nil }
func closeFD(int)                            {}
func keptLimit() int                         { return 0 }
