package sipcore

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// sendInvite sends parkd an INVITE for callID from p, its From tagged
// callID, and returns its From line for the requests that follow.
func sendInvite(p *rawPeer, addr, callID string) string {
	from := "From: <sip:caller@" + p.addr.String() + ">;tag=" + callID
	p.send(addr, testSDP, "INVITE sip:park@"+addr+" SIP/2.0", p.via("inv-"+callID), from, "To: <sip:park@"+addr+">",
		"Call-ID: "+callID, "CSeq: 1 INVITE", "Contact: <sip:caller@"+p.addr.String()+">", "Content-Type: application/sdp")
	return from
}

// answeredCall sends parkd an INVITE for callID from p and waits for its
// 200 and the call it answered, not yet ACKed: it returns the INVITE's
// From line, the 200 and the call.
func answeredCall(t *testing.T, p *rawPeer, h *doorHandler, addr, callID string) (string, *sip.Response, *Call) {
	t.Helper()
	from := sendInvite(p, addr, callID)
	ok := p.response(testCtx(t), 200, sip.INVITE)
	return from, ok, receive(t, h.calls, "the answered call")
}

// sendAck acknowledges ok, the 200 to the INVITE of callID from p.
func sendAck(p *rawPeer, addr, from string, ok *sip.Response, callID string) {
	p.send(addr, "", "ACK sip:park@"+addr+" SIP/2.0", p.via("ack-"+callID), from, "To: "+ok.To().Value(),
		"Call-ID: "+callID, "CSeq: 1 ACK")
}

// shortenT1 makes ep's T1 t1 and its T2 4·t1, for the answers it resends
// (a 2xx until its ACK, a final error until its ACK); it returns t1.
func shortenT1(ep *Endpoint, t1 time.Duration) time.Duration {
	ep.answerT1.Store(int64(t1))
	ep.answerT2.Store(int64(4 * t1))
	return t1
}

// A 200 to an INVITE is resent over UDP until its ACK comes (RFC 3261
// §13.3.1.4): a phone whose ACK was lost, or whose 200 was, hears the
// same 200 again after T1, and once its ACK arrives, never again.
func TestTheAnswerIsResentUntilItsAck(t *testing.T) {
	_, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	from := sendInvite(p, addr, "resend")
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

	sendAck(p, addr, from, first, "resend")
	receive(t, c.Confirmed(), "the ACK taken")
	p.silent(2*sip.T1 + 300*time.Millisecond) // the next copy was due 2·T1 after the last
}

// Without an ACK the 200 is resent, T1 doubling to T2, until 64·T1; then
// parkd ends the call with a BYE (RFC 3261 §13.3.1.4), and says why.
func TestAnAnswerNeverAcknowledgedEndsTheCall(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	t1 := shortenT1(ep, 20*time.Millisecond) // 64·T1 = 1.28 s
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	start := time.Now() // before the 200's deadline can be armed
	_, first, c := answeredCall(t, p, h, addr, "noack")

	copies := 0
	var bye *sip.Request
	for bye == nil {
		switch m := p.next(ctx).(type) {
		case *sip.Response:
			if m.StatusCode != 200 || m.String() != first.String() {
				t.Fatalf("while waiting for the BYE, got:\n%s", m)
			}
			copies++
		case *sip.Request:
			if m.Method != sip.BYE {
				t.Fatalf("while waiting for the BYE, got:\n%s", m)
			}
			bye = m
		}
	}
	p.answer(addr, bye, 200)
	receive(t, c.Done(), "the call to end")
	if waited, timerH := time.Since(start), 64*t1; waited < timerH {
		t.Errorf("the call ended %v after the INVITE, before 64·T1 (%v)", waited, timerH)
	}
	// Every T1 doubling to T2 within 64·T1 (20, 40, 80, 80 ms ...): some
	// seventeen copies; far fewer would mean no retransmission, far more
	// no doubling.
	if copies < 8 || copies > 20 {
		t.Errorf("%d copies of the 200 before the BYE, want about 17", copies)
	}
	if got := c.Ended(); got != EndNoAck {
		t.Errorf("the call ended for %q, want %q", got, EndNoAck)
	}
	if r := bye.GetHeader("Reason"); r == nil || !strings.Contains(r.Value(), "cause=102") {
		t.Errorf("the BYE's Reason is %v, want Q.850 cause 102 (recovery on timer expiry)", r)
	}
}

// A call that ends before its ACK, by the caller's BYE, stops resending
// its 200 at once.
func TestAnAnswerIsNotResentOnceTheCallEnds(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	t1 := shortenT1(ep, 20*time.Millisecond)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	from, first, c := answeredCall(t, p, h, addr, "byefirst")
	p.send(addr, "", "BYE sip:park@"+addr+" SIP/2.0", p.via("bye-byefirst"), from, "To: "+first.To().Value(),
		"Call-ID: byefirst", "CSeq: 2 BYE")
	for { // copies of the 200 sent before the BYE was read may still come
		res, ok := p.next(ctx).(*sip.Response)
		if ok && res.StatusCode == 200 && res.CSeq().MethodName == sip.BYE {
			break
		}
		if !ok || res.CSeq().MethodName != sip.INVITE {
			t.Fatalf("while waiting for the 200 to the BYE, got something else")
		}
	}
	receive(t, c.Done(), "the call to end")
	p.silent(70 * t1) // past 64·T1: no copy of the 200, and no BYE for want of an ACK
	if got := c.Ended(); got != EndRemoteBye {
		t.Errorf("the call ended for %q, want %q", got, EndRemoteBye)
	}
}

// A re-INVITE's 200 is resent where the first copy went, the source IP
// and the Via port, even when the phone sent from another port (no
// rport): sipgo's transport only knows the addresses it read from, and
// a resend through it never left.
func TestAReInvitesAnswerIsResentToItsViaPort(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	shortenT1(ep, 20*time.Millisecond) // the first resend due after 20 ms
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	from, ok, c := answeredCall(t, p, h, addr, "reinvite")
	sendAck(p, addr, from, ok, "reinvite")
	receive(t, c.Confirmed(), "the ACK taken")

	viaPort := newRawPeer(t, "127.0.0.1") // listens where the re-INVITE's Via says
	p.send(addr, testSDP, "INVITE "+ok.Contact().Address.String()+" SIP/2.0",
		"Via: SIP/2.0/UDP "+viaPort.addr.String()+";branch=z9hG4bKre-reinvite", from, "To: "+ok.To().Value(),
		"Call-ID: reinvite", "CSeq: 2 INVITE", "Contact: <sip:caller@"+p.addr.String()+">", "Content-Type: application/sdp")
	first := viaPort.response(ctx, 200, sip.INVITE)
	again := viaPort.response(ctx, 200, sip.INVITE) // no ACK: resent after T1
	if again.String() != first.String() {
		t.Fatalf("the resent 200 differs:\n%s\nfirst:\n%s", again, first)
	}
}
