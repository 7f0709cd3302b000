package kstamp

import (
	"net"
	"testing"
)

// Reading a stamped datagram allocates nothing beyond what the socket
// read itself needs: parkd's SIP socket reads every datagram this way.
func TestStampDoesNotAllocate(t *testing.T) {
	conn := stampedSocket(t)
	to := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	buf, oob := make([]byte, 64), make([]byte, OOBSize)
	if _, err := conn.WriteToUDPAddrPort([]byte("x"), to); err != nil {
		t.Fatal(err)
	}
	_, oobn, _, _, err := conn.ReadMsgUDPAddrPort(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := FromControl(oob[:oobn]); !ok {
		t.Fatal("no timestamp in the control message")
	}
	if n := testing.AllocsPerRun(100, func() { FromControl(oob[:oobn]) }); n != 0 {
		t.Errorf("stamp allocates %.0f times", n)
	}
}
