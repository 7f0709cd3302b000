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
	for _, tc := range []struct{ network, host string }{{"udp4", "127.0.0.1"}, {"udp6", "::1"}} {
		t.Run(tc.network, func(t *testing.T) {
			conn, err := net.ListenUDP(tc.network, &net.UDPAddr{IP: net.ParseIP(tc.host)})
			if err != nil {
				t.Skipf("no %s loopback: %v", tc.network, err)
			}
			defer conn.Close()
			w := NewWriter(conn)
			if _, ok := w.(*rawWriter); !ok {
				t.Fatalf("writer %T, want the raw one", w)
			}
			var peers []*net.UDPConn
			var ms []ipv4.Message
			for i := range 3 {
				p, err := net.ListenUDP(tc.network, &net.UDPAddr{IP: net.ParseIP(tc.host)})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
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
