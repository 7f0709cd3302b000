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
	if runtime.GOOS != "linux" {
		t.Skip("the kernel's receive timestamp is read on Linux only")
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := Enable(conn); err != nil {
		t.Fatal(err)
	}
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
