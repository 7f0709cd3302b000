package mmsg

import (
	"errors"
	"net"
	"testing"
	"time"
)

// loopbacks are the two families the writer and reader serve.
var loopbacks = []struct{ network, host string }{{"udp4", "127.0.0.1"}, {"udp6", "::1"}}

// listenLoopback opens a socket on host, closed when the test ends; it
// skips the test where the machine has no such loopback.
func listenLoopback(t *testing.T, network, host string) *net.UDPConn {
	t.Helper()
	conn, err := net.ListenUDP(network, &net.UDPAddr{IP: net.ParseIP(host)})
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// closingEndsRead closes conn while r waits in a Read, and wants that
// Read to end with net.ErrClosed, which sipgo's read loop takes as the
// end.
func closingEndsRead(t *testing.T, conn *net.UDPConn, r *Reader) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, _, _, err := r.Read(make([]byte, 64))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	conn.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("read ended with %v, want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the read did not end when the socket closed")
	}
}
