package sipcore

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// A source that is answered and never ACKs holds at most
// maxUnconfirmedPerSource calls (and RTP ports); past that it gets 503,
// while another source is still served, and an ACK frees a place.
func TestUnacknowledgedCallsPerSourceAreBounded(t *testing.T) {
	_, _, addr := newDoorEndpoint(t, nil)
	greedy := newRawPeer(t, "127.0.0.2")
	invite := func(p *rawPeer, id string) {
		p.send(addr, testSDP, "INVITE sip:park@"+addr+" SIP/2.0", p.via(id), "From: <sip:x@127.0.0.1>;tag="+id,
			"To: <sip:park@"+addr+">", "Call-ID: "+id, "CSeq: 1 INVITE", "Contact: <sip:x@"+p.addr.String()+">",
			"Content-Type: application/sdp")
	}
	var first *sip.Response
	for i := range maxUnconfirmedPerSource {
		id := fmt.Sprintf("greedy-%d", i)
		invite(greedy, id)
		res := awaitFinal(t, greedy, id)
		if res.StatusCode != 200 {
			t.Fatalf("call %d from one source: got %d, want 200", i+1, res.StatusCode)
		}
		if i == 0 {
			first = res
		}
	}
	invite(greedy, "greedy-over")
	res := awaitFinal(t, greedy, "greedy-over")
	if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
		t.Fatalf("call %d from one source, none ACKed: got %d (Retry-After %v), want 503 with Retry-After",
			maxUnconfirmedPerSource+1, res.StatusCode, res.GetHeader("Retry-After"))
	}

	other := newRawPeer(t, "127.0.0.1")
	invite(other, "other-0")
	if res := awaitFinal(t, other, "other-0"); res.StatusCode != 200 {
		t.Fatalf("another source: got %d, want 200", res.StatusCode)
	}

	greedy.send(addr, "", "ACK sip:parkd@"+addr+" SIP/2.0", greedy.via("ack0"), "From: <sip:x@127.0.0.1>;tag=greedy-0",
		"To: "+first.To().Value(), "Call-ID: greedy-0", "CSeq: 1 ACK")
	attempt := 0
	waitFor(t, "the ACK to free a place", func() bool {
		// A new INVITE each time: a copy of a refused one would only get
		// its 503 again from the transaction.
		attempt++
		id := fmt.Sprintf("greedy-again-%d", attempt)
		invite(greedy, id)
		return awaitFinal(t, greedy, id).StatusCode == 200
	})
}

// awaitFinal is the next final response to the INVITE with Call-ID id,
// skipping retransmitted 200s of the others.
func awaitFinal(t *testing.T, p *rawPeer, id string) *sip.Response {
	t.Helper()
	ctx := testCtx(t)
	for {
		res, ok := p.next(ctx).(*sip.Response)
		if ok && res.StatusCode >= 200 && res.CallID() != nil && res.CallID().Value() == id {
			return res
		}
	}
}

// A trusted source (the PBX) is not counted: parking hundreds of calls a
// second, it may have many ACKs in flight while parkd is busy.
func TestUnacknowledgedCallsFromTrustedSourceAreNotCapped(t *testing.T) {
	_, _, addr := newDoorEndpoint(t, func(c *Config) {
		c.Trusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
	})
	pbx := newRawPeer(t, "127.0.0.2")
	for i := range maxUnconfirmedPerSource + 2 {
		id := fmt.Sprintf("pbx-%d", i)
		pbx.send(addr, testSDP, "INVITE sip:park@"+addr+" SIP/2.0", pbx.via(id), "From: <sip:x@127.0.0.2>;tag="+id,
			"To: <sip:park@"+addr+">", "Call-ID: "+id, "CSeq: 1 INVITE", "Contact: <sip:x@"+pbx.addr.String()+">",
			"Content-Type: application/sdp")
		if res := awaitFinal(t, pbx, id); res.StatusCode != 200 {
			t.Fatalf("trusted call %d: got %d, want 200", i+1, res.StatusCode)
		}
	}
}
