package mmsg

import (
	"net"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// The raw sendmmsg writes each message, of one or several buffers, to its
// own address, on IPv4 and IPv6 sockets alike.
func TestRawBatchWriterSendsEachMessageToItsAddress(t *testing.T) {
	for _, tc := range loopbacks {
		t.Run(tc.network, func(t *testing.T) {
			conn := listenLoopback(t, tc.network, tc.host)
			w := NewWriter(conn)
			if _, ok := w.(*rawWriter); !ok {
				t.Fatalf("writer %T, want the raw one", w)
			}
			var peers []*net.UDPConn
			var ms []ipv4.Message
			for i := range 3 {
				p := listenLoopback(t, tc.network, tc.host)
				peers = append(peers, p)
				ms = append(ms, ipv4.Message{Buffers: [][]byte{[]byte("NOTIFY "), {byte('a' + i)}}, Addr: p.LocalAddr()})
			}
			if n, err := w.WriteBatch(ms, 0); n != 3 || err != nil {
				t.Fatalf("WriteBatch = %d, %v; want 3, nil", n, err)
			}
			for i, p := range peers {
				buf := make([]byte, 64)
				p.SetReadDeadline(time.Now().Add(2 * time.Second))
				n, from, err := p.ReadFromUDP(buf)
				if want := "NOTIFY " + string(rune('a'+i)); err != nil || string(buf[:n]) != want {
					t.Errorf("peer %d got %q, %v; want %q", i, buf[:n], err, want)
				}
				if err == nil && from.Port != conn.LocalAddr().(*net.UDPAddr).Port {
					t.Errorf("peer %d: from %v, want the writer's socket %v", i, from, conn.LocalAddr())
				}
			}
			if _, err := w.WriteBatch([]ipv4.Message{{Buffers: [][]byte{[]byte("x")}}}, 0); err == nil {
				t.Error("a message without an address was accepted")
			}
		})
	}
}

// Neither direction allocates once warm: the SIP socket reads every
// datagram through the Reader, and each fan-out writes through the Writer.
func TestBatchesDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector sync.Pool drops what it is given")
	}
	conn := listenLoopback(t, "udp4", "127.0.0.1")
	peer := listenLoopback(t, "udp4", "127.0.0.1")
	w := NewWriter(conn)
	ms := []ipv4.Message{{Buffers: [][]byte{[]byte("x")}, Addr: peer.LocalAddr()}}
	if n := testing.AllocsPerRun(20, func() { w.WriteBatch(ms, 0) }); n != 0 {
		t.Errorf("WriteBatch: %v allocations per call, want 0", n)
	}
	r, err := NewReader(peer, 1, 64) // a system call per Read: AllocsPerRun averages
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n := testing.AllocsPerRun(20, func() { r.Read(buf) }); n != 0 {
		t.Errorf("Read: %v allocations per datagram, want 0", n)
	}
}
