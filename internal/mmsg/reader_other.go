//go:build !linux

package mmsg

import (
	"net"
	"net/netip"
	"time"

	"github.com/parkd/parkd/internal/kstamp"
)

// Reader reads a UDP socket one datagram at a time here, stamped when it
// is read.
type Reader struct {
	conn *net.UDPConn
	oob  []byte
}

// NewReader reads conn; batch and size are for Linux's recvmmsg.
func NewReader(conn *net.UDPConn, batch, size int) (*Reader, error) {
	return &Reader{conn: conn, oob: make([]byte, kstamp.OOBSize)}, nil
}

// Read reads the next datagram into b.
func (r *Reader) Read(b []byte) (n int, from netip.AddrPort, at time.Time, err error) {
	return kstamp.Read(r.conn, b, r.oob)
}

// SetLateWake does nothing here: telling a deadline wake that found input
// from one that found none (late_wake.go) needs the non-blocking read
// that Linux's recvmmsg makes, and parkd is measured and run under load
// on Linux.
func (r *Reader) SetLateWake(time.Duration) {}
