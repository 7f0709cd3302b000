package sipcore

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The ACK of parkd's 200 is taken on the read loop: the call is confirmed
// and sipgo never sees the datagram. A copy of it, or an ACK no 200
// waits for, goes on to sipgo as before.
func TestAnAckIsTakenOnTheReadLoop(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	p := newRawPeer(t, "127.0.0.1")
	_, ok, c := answeredCall(t, p, h, addr, "readloop")

	props := sip.TransportReadProps{Transport: "UDP", LocalAddr: net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)),
		RemoteAddr: net.UDPAddrFromAddrPort(p.addr)}
	ack := func(cseq string) []byte {
		return ackBytes("ACK sip:park@"+addr+" SIP/2.0", p.via("ack-readloop"),
			"f: <sip:caller@"+p.addr.String()+">;tag=readloop", "t: "+ok.To().Value(), "i: readloop", "CSeq: "+cseq+" ACK")
	}
	acks := func() uint64 { return ep.stats.requests[methodIndex(sip.ACK)].Load() }

	c.mu.Lock() // the call busy answering something: the read loop does not wait
	out, _ := ep.readFilter(props, ack("1"))
	c.mu.Unlock()
	if out == nil {
		t.Fatal("the ACK of a call whose lock was held was taken; the read loop must not wait for it")
	}
	before := acks()
	if out, _ := ep.readFilter(props, ack("1")); out != nil {
		t.Fatal("the ACK of the waiting 200 went on to sipgo")
	}
	receive(t, c.Confirmed(), "the call confirmed by the ACK")
	if got := acks() - before; got != 1 {
		t.Errorf("ACKs counted: %d, want 1", got)
	}
	if out, _ := ep.readFilter(props, ack("1")); out == nil {
		t.Error("a copy of the ACK was dropped; sipgo's rules apply to it")
	}
	if out, _ := ep.readFilter(props, ack("2")); out == nil {
		t.Error("an ACK no 200 waits for was dropped; it may be an error response's")
	}
	p.silent(sip.T1 + 200*time.Millisecond) // the 200 was not resent
}

// A late offer's answer comes in the ACK: that ACK goes to sipgo and the
// answer is applied, the music going where it says.
func TestALateOffersAnswerInTheAckIsApplied(t *testing.T) {
	_, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	from := "From: <sip:caller@" + p.addr.String() + ">;tag=late"
	p.send(addr, "", "INVITE sip:park@"+addr+" SIP/2.0", p.via("inv-late"), from, "To: <sip:park@"+addr+">",
		"Call-ID: late", "CSeq: 1 INVITE", "Contact: <sip:caller@"+p.addr.String()+">")
	ok := p.response(ctx, 200, sip.INVITE)
	c := receive(t, h.calls, "the answered call")
	answer := strings.Replace(testSDP, "m=audio 9 ", "m=audio 40010 ", 1)
	p.send(addr, answer, "ACK sip:park@"+addr+" SIP/2.0", p.via("ack-late"), from, "To: "+ok.To().Value(),
		"Call-ID: late", "CSeq: 1 ACK", "Content-Type: application/sdp")
	receive(t, c.Confirmed(), "the call confirmed by the ACK")
	want := netip.MustParseAddrPort("127.0.0.1:40010")
	deadline := time.Now().Add(2 * time.Second)
	for c.Media().Remote() != want {
		if time.Now().After(deadline) {
			t.Fatalf("media remote %v after the ACK's answer, want %v", c.Media().Remote(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
