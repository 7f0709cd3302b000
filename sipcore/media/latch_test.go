package media

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Addresses of the latch tests: the peer's SDP, the host its SIP came from
// (a NAT's public side), and a stranger. Packets are handed to
// handlePacket directly, so nothing needs to be bound on them.
var (
	sdpAddr        = netip.MustParseAddrPort("127.0.0.1:4000")
	sdpIPOtherPort = netip.MustParseAddrPort("127.0.0.1:5000")
	signallingIP   = netip.MustParseAddr("127.0.0.3")
	signallingAddr = netip.AddrPortFrom(signallingIP, 6000)
	strangerAddr   = netip.MustParseAddrPort("127.0.0.2:7000")
)

// latchRig is a session A bridged to B; B sends what A takes in to a sink,
// so "relayed" is B's sent count.
type latchRig struct {
	a, b  *Session
	pkt   []byte
	buf   []byte
	seq   uint16
	sdpAt netip.AddrPort
}

func newLatchRig(t *testing.T, mode Latch, signalling netip.Addr) *latchRig {
	t.Helper()
	alloc := newTestAllocator(t)
	a, b := openSession(t, alloc), openSession(t, alloc)
	a.SetLatch(mode, signalling)
	a.SetRemote(sdpAddr, Format{Codec: PCMU})
	b.SetRemote(newPhone(t).addr(), Format{Codec: PCMU})
	if err := Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	pkt, err := (&rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 0, SSRC: 9, SequenceNumber: 1, Timestamp: 160},
		Payload: make([]byte, frameSamples),
	}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return &latchRig{a: a, b: b, pkt: pkt, buf: make([]byte, maxPacketLen), sdpAt: sdpAddr}
}

// send hands one RTP packet from src to A and reports whether it counted.
func (r *latchRig) send(src netip.AddrPort) bool {
	r.seq++
	n := copy(r.buf, r.pkt)
	r.buf[2], r.buf[3] = byte(r.seq>>8), byte(r.seq)
	return r.a.handlePacket(r.buf, n, src)
}

func TestLatchAcceptsOnlyAllowedSources(t *testing.T) {
	type source struct {
		name string
		addr netip.AddrPort
	}
	sources := []source{
		{"sdp address", sdpAddr},
		{"other port on the sdp ip", sdpIPOtherPort},
		{"signalling ip, any port", signallingAddr},
		{"stranger", strangerAddr},
	}
	cases := []struct {
		mode       Latch
		signalling netip.Addr
		name       string
		accept     []bool // by sources
	}{
		{LatchSDP, signallingIP, "sdp", []bool{true, true, false, false}},
		{LatchSignalling, signallingIP, "signalling", []bool{true, true, true, false}},
		{LatchSignalling, netip.Addr{}, "signalling without its ip", []bool{true, true, false, false}},
		{LatchSignalling, netip.MustParseAddr("0.0.0.0"), "signalling with an unspecified ip", []bool{true, true, false, false}},
		{LatchAny, signallingIP, "any", []bool{true, true, true, true}},
	}
	for _, tc := range cases {
		for i, src := range sources {
			t.Run(tc.name+"/"+src.name, func(t *testing.T) {
				r := newLatchRig(t, tc.mode, tc.signalling)
				want := tc.accept[i]
				for range 2 * relinkAfter {
					r.send(src.addr)
				}
				sent := r.b.PacketsSent()
				if want {
					if got := r.a.Remote(); got != src.addr {
						t.Errorf("Remote() = %v, want latched on %v", got, src.addr)
					}
					if r.a.PacketsReceived() != 2*relinkAfter || r.a.PacketsRejected() != 0 {
						t.Errorf("received %d, rejected %d; want all %d received", r.a.PacketsReceived(), r.a.PacketsRejected(), 2*relinkAfter)
					}
					if sent != 2*relinkAfter {
						t.Errorf("relayed %d packets, want %d", sent, 2*relinkAfter)
					}
					return
				}
				if got := r.a.Remote(); got != sdpAddr {
					t.Errorf("Remote() = %v after a dropped source sent %d packets, want the SDP address %v", got, 2*relinkAfter, sdpAddr)
				}
				if r.a.PacketsReceived() != 0 || r.a.PacketsRejected() != 2*relinkAfter {
					t.Errorf("received %d, rejected %d; want all %d rejected", r.a.PacketsReceived(), r.a.PacketsRejected(), 2*relinkAfter)
				}
				if sent != 0 {
					t.Errorf("relayed %d packets of a dropped source", sent)
				}
			})
		}
	}
}

// An established latch moves only between allowed sources, however long a
// stranger keeps sending (rtp.latch: any keeps the old behaviour).
func TestLatchNeverMovesToAStranger(t *testing.T) {
	cases := []struct {
		mode          Latch
		strangerTakes bool
	}{
		{LatchSDP, false},
		{LatchSignalling, false},
		{LatchAny, true},
	}
	for _, tc := range cases {
		t.Run(tc.mode.String(), func(t *testing.T) {
			r := newLatchRig(t, tc.mode, signallingIP)
			if !r.send(sdpAddr) || r.a.Remote() != sdpAddr {
				t.Fatalf("the peer's own first packet did not latch: Remote() = %v", r.a.Remote())
			}
			for range 10 * relinkAfter {
				r.send(strangerAddr)
			}
			if got := r.a.Remote(); (got == strangerAddr) != tc.strangerTakes {
				t.Fatalf("after %d stranger packets Remote() = %v", 10*relinkAfter, got)
			}
			if tc.strangerTakes {
				return
			}
			// The peer's packets still count and are relayed.
			sent := r.b.PacketsSent()
			if !r.send(sdpAddr) || r.b.PacketsSent() != sent+1 {
				t.Fatal("the peer's packet after the stranger's was not taken and relayed")
			}
			// NAT rebinding to another allowed port still moves the latch.
			for range relinkAfter {
				r.send(sdpIPOtherPort)
			}
			if got := r.a.Remote(); got != sdpIPOtherPort {
				t.Fatalf("rebinding on the SDP IP: Remote() = %v, want %v", got, sdpIPOtherPort)
			}
		})
	}
}

// A stranger before the peer's first packet (the parked-call hijack) gets
// nothing: the session keeps sending to the SDP address and latches on the
// peer when it starts.
func TestLatchStrangerFirst(t *testing.T) {
	r := newLatchRig(t, LatchSignalling, signallingIP)
	for range 5 {
		if r.send(strangerAddr) {
			t.Fatal("a stranger's packet was taken")
		}
	}
	if r.a.Remote() != sdpAddr {
		t.Fatalf("Remote() = %v, want the SDP address", r.a.Remote())
	}
	if !r.send(signallingAddr) || r.a.Remote() != signallingAddr {
		t.Fatalf("the NATed peer's first packet did not latch: Remote() = %v", r.a.Remote())
	}
}

func TestSetLatchDropsALatchThatIsNoLongerAllowed(t *testing.T) {
	r := newLatchRig(t, LatchSignalling, signallingIP)
	r.send(signallingAddr)
	if r.a.Remote() != signallingAddr {
		t.Fatalf("Remote() = %v", r.a.Remote())
	}
	// The signalling IP changes (a re-INVITE from elsewhere): the old one
	// may no longer send, and the session sends to the SDP address again.
	r.a.SetLatch(LatchSignalling, netip.MustParseAddr("127.0.0.4"))
	if r.a.Remote() != sdpAddr {
		t.Fatalf("after SetLatch Remote() = %v, want the SDP address", r.a.Remote())
	}
	if r.send(signallingAddr) {
		t.Fatal("the old signalling IP is still taken")
	}
	// A latch on the SDP IP survives the same change.
	r.send(sdpIPOtherPort)
	r.a.SetLatch(LatchSDP, netip.Addr{})
	if r.a.Remote() != sdpIPOtherPort {
		t.Fatalf("a latch on the SDP IP was dropped: Remote() = %v", r.a.Remote())
	}
}

// A hold with c=0.0.0.0 stops our sending but keeps the SDP IP allowed, so
// the peer is heard again when it resumes from where it was.
func TestLatchHoldKeepsSDPIP(t *testing.T) {
	r := newLatchRig(t, LatchSDP, netip.Addr{})
	r.a.SetRemote(netip.MustParseAddrPort("0.0.0.0:4000"), Format{Codec: PCMU})
	if r.a.Remote().IsValid() {
		t.Fatalf("on hold Remote() = %v, want none", r.a.Remote())
	}
	if !r.send(sdpAddr) {
		t.Fatal("the peer's packet during hold was dropped")
	}
	if r.send(strangerAddr) {
		t.Fatal("a stranger's packet during hold was taken")
	}
}

// A fresh session, before any SetLatch or SetRemote, takes nothing.
func TestNewSessionAcceptsNoOne(t *testing.T) {
	s := openSession(t, newTestAllocator(t))
	buf := make([]byte, maxPacketLen)
	n := copy(buf, []byte{0x80, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1})
	if s.handlePacket(buf, n, strangerAddr) || s.Remote().IsValid() {
		t.Fatalf("a session with no SDP took a packet: Remote() = %v", s.Remote())
	}
}

// An intruder's stream from another IP does not keep a silent call alive.
func TestStrangerDoesNotKeepCallAlive(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	s := openSession(t, newTestAllocator(t))
	s.SetLatch(LatchSignalling, loopback)
	s.SetRemote(newPhone(t).addr(), Format{Codec: PCMU})
	intruder, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.2:0")))
	if err != nil {
		t.Skipf("cannot bind 127.0.0.2: %v", err)
	}
	defer intruder.Close()
	var fired atomic.Bool
	done := make(chan struct{})
	s.Start(timeout, func() { fired.Store(true); close(done) })
	pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1}, Payload: make([]byte, frameSamples)}).Marshal()
	to := net.UDPAddrFromAddrPort(s.LocalAddr())
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(3 * time.Second)
	for !fired.Load() {
		select {
		case <-done:
		case <-tick.C:
			intruder.WriteToUDP(pkt, to)
		case <-deadline:
			t.Fatal("an intruder's stream kept the session from timing out")
		}
	}
	if s.PacketsReceived() != 0 || s.PacketsRejected() == 0 {
		t.Fatalf("received %d, rejected %d; want none received, some rejected", s.PacketsReceived(), s.PacketsRejected())
	}
}
