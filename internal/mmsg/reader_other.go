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
	late lateWake
}

// NewReader reads conn; batch and size are for Linux's recvmmsg.
func NewReader(conn *net.UDPConn, batch, size int) (*Reader, error) {
	return &Reader{conn: conn, oob: make([]byte, kstamp.OOBSize)}, nil
}

// Read reads the next datagram into b.
func (r *Reader) Read(b []byte) (n int, from netip.AddrPort, at time.Time, err error) {
	for {
		r.late.beforeWait(r.conn)
		n, from, at, err = kstamp.Read(r.conn, b, r.oob)
		if r.late.woke(err) {
			continue
		}
		if err == nil {
			r.late.noteRead(at, time.Now())
		}
		return n, from, at, err
	}
}

// SetLateWake makes a reader that has read late wait with a deadline of
// every (late_wake.go); 0, the default, waits on Go's poller alone.
func (r *Reader) SetLateWake(every time.Duration) { r.late.every = every }
