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
