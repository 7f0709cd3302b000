package kstamp

import (
	"net"
	"runtime"
	"testing"
	"time"
)

// A datagram sent, then read a while later, carries the time it arrived,
// not the time it was read.
func TestReadGivesTheArrivalTime(t *testing.T) {
	conn := stampedSocket(t)
	sent := time.Now()
	if _, err := conn.WriteToUDPAddrPort([]byte("hello"), conn.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	buf, oob := make([]byte, 64), make([]byte, OOBSize)
	n, _, at, err := Read(conn, buf, oob)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if d := at.Sub(sent); d < 0 || d > 100*time.Millisecond {
		t.Errorf("arrival %v after the send, want within 100 ms (it was read 200 ms later)", d)
	}
}

// stampedSocket is a loopback socket with receive timestamps on (Linux
// only: the test is skipped elsewhere). It waits for the kernel to start
// stamping: the first socket on the machine to ask turns timestamps on
// from a work queue, a moment later, and a datagram read before then is
// stamped when it is read.
func stampedSocket(t *testing.T) *net.UDPConn {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the kernel's receive timestamp is read on Linux only")
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := Enable(conn); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	return conn
}
