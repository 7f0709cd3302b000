package mmsg

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/parkd/parkd/internal/kstamp"
)

// Datagrams queued behind the reader come out one per Read, in order,
// each with its own source and an arrival no later than its read, also
// when there are more of them than one batch holds.
func TestReaderHandsOutQueuedDatagramsInOrder(t *testing.T) {
	for _, tc := range loopbacks {
		t.Run(tc.network, func(t *testing.T) {
			conn := listenLoopback(t, tc.network, tc.host)
			kstamp.Enable(conn)
			r, err := NewReader(conn, 4, 64)
			if err != nil {
				t.Fatal(err)
			}
			var senders []*net.UDPConn
			for range 2 {
				senders = append(senders, listenLoopback(t, tc.network, tc.host))
			}
			const total = 10 // two and a half batches
			for i := range total {
				if _, err := senders[i%2].WriteTo(fmt.Appendf(nil, "datagram %d", i), conn.LocalAddr()); err != nil {
					t.Fatal(err)
				}
			}
			for i := range total {
				b := make([]byte, 100)
				n, from, at, err := r.Read(b)
				if err != nil {
					t.Fatal(err)
				}
				if want := fmt.Sprintf("datagram %d", i); string(b[:n]) != want {
					t.Errorf("read %d: %q, want %q", i, b[:n], want)
				}
				if want := senders[i%2].LocalAddr().(*net.UDPAddr).AddrPort(); from.Port() != want.Port() || from.Addr().Unmap() != want.Addr().Unmap() {
					t.Errorf("read %d: from %v, want %v", i, from, want)
				}
				if at.IsZero() || at.After(time.Now()) {
					t.Errorf("read %d: arrival %v", i, at)
				}
			}
		})
	}
}

// A read into a short buffer gets the start of the datagram, as a plain
// read would, and the next read the next datagram.
func TestReaderCutsALongDatagramToTheBuffer(t *testing.T) {
	conn := listenLoopback(t, "udp4", "127.0.0.1")
	r, err := NewReader(conn, 4, 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"0123456789", "next"} {
		if _, err := conn.WriteTo([]byte(m), conn.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"0123", "next"} {
		b := make([]byte, 4)
		n, _, _, err := r.Read(b)
		if err != nil || string(b[:n]) != want {
			t.Errorf("read %q, %v; want %q", b[:n], err, want)
		}
	}
}

// Closing the socket ends a read that waits, with net.ErrClosed, which
// sipgo's read loop takes as the end.
func TestReaderEndsWhenTheSocketCloses(t *testing.T) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(conn, 4, 64)
	if err != nil {
		t.Fatal(err)
	}
	closingEndsRead(t, conn, r)
}
