package mmsg

import (
	"net"
	"testing"
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
