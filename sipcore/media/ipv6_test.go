package media

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// An RTP range on an IPv6 address works both ways: the phone's packets
// are taken in and latched (source read from the kernel's IPv6 address),
// and the music goes back to where they came from.
func TestIPv6SessionHearsAndPlaysMusic(t *testing.T) {
	ip := netip.MustParseAddr("::1")
	phoneConn, err := net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer phoneConn.Close()
	a, err := NewAllocator(ip, testPortLow, testPortHigh)
	if err != nil {
		t.Fatal(err)
	}
	s := openSession(t, a)
	if !s.LocalAddr().Addr().Is6() {
		t.Fatalf("session bound to %v", s.LocalAddr())
	}
	phoneAddr := phoneConn.LocalAddr().(*net.UDPAddr).AddrPort()
	s.SetRemote(netip.AddrPortFrom(ip, 9), Format{Codec: PCMA}) // the SDP names another port; RTP latches the real one
	s.Start(0, nil)

	pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SSRC: 5}, Payload: make([]byte, 160)}).Marshal()
	if _, err := phoneConn.WriteToUDPAddrPort(pkt, s.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); s.Remote() != phoneAddr; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not latched to %v: remote %v, %d received", phoneAddr, s.Remote(), s.PacketsReceived())
		}
	}

	src := NewBuiltinSource()
	src.Add(s)
	src.tick(nil)
	buf := make([]byte, 1500)
	_ = phoneConn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := phoneConn.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("no music over IPv6: %v", err)
	}
	var got rtp.Packet
	if err := got.Unmarshal(buf[:n]); err != nil || got.PayloadType != 8 || len(got.Payload) != 160 {
		t.Fatalf("music packet from %v: %v, PT %d, %d bytes of audio", from, err, got.PayloadType, len(got.Payload))
	}
	if from != s.LocalAddr() {
		t.Fatalf("music came from %v, want the session's %v", from, s.LocalAddr())
	}
}
