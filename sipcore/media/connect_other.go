//go:build !linux

package media

import (
	"errors"
	"net"
	"net/netip"
)

var errNoConnect = errors.New("media: connected RTP sockets are only used on Linux")

// Elsewhere sessions always send with sendto; see connect_linux.go.
func connectSocket(*net.UDPConn, netip.AddrPort) error { return errNoConnect }
func disconnectSocket(*net.UDPConn) error              { return errNoConnect }
