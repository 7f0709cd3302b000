package sipcore

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A 200 to an INVITE is resent over UDP until its ACK comes (RFC 3261
// §13.3.1.4): a phone whose ACK was lost, or whose 200 was, hears the
// same 200 again after T1, and once its ACK arrives, never again.
func TestTheAnswerIsResentUntilItsAck(t *testing.T) {
	_, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	from := "From: <sip:caller@" + p.addr.String() + ">;tag=resend"
	p.send(addr, testSDP, "INVITE sip:park@"+addr+" SIP/2.0", p.via("inv-resend"), from, "To: <sip:park@"+addr+">",
		"Call-ID: resend", "CSeq: 1 INVITE", "Contact: <sip:caller@"+p.addr.String()+">", "Content-Type: application/sdp")
	first := p.response(ctx, 200, sip.INVITE)
	sentAt := time.Now()
	c := receive(t, h.calls, "the answered call")

	again := p.response(ctx, 200, sip.INVITE) // no ACK yet
	if waited := time.Since(sentAt); waited < sip.T1/2 {
		t.Errorf("the 200 came again after %v, want about T1 (%v)", waited, sip.T1)
	}
	if again.String() != first.String() {
		t.Fatalf("the resent 200 differs:\n%s\nfirst:\n%s", again, first)
	}

	p.send(addr, "", "ACK sip:park@"+addr+" SIP/2.0", p.via("ack-resend"), from, "To: "+first.To().Value(),
		"Call-ID: resend", "CSeq: 1 ACK")
	receive(t, c.Confirmed(), "the ACK taken")
	p.silent(2*sip.T1 + 300*time.Millisecond) // the next copy was due 2·T1 after the last
}
