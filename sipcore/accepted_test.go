package sipcore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestInviteTxKeyNamesOneTransaction(t *testing.T) {
	request := func(start, via, cseq string) *sip.Request {
		msg := strings.Join([]string{start, "Via: SIP/2.0/UDP " + via, "From: <sip:a@x>;tag=f1", "To: <sip:park@y>",
			"Call-ID: c1", "CSeq: " + cseq, "Content-Length: 0", "", ""}, "\r\n")
		m, err := sip.ParseMessage([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		return m.(*sip.Request)
	}
	invite := request("INVITE sip:park@y SIP/2.0", "10.0.0.1:5060;branch=z9hG4bKaa", "1 INVITE")
	tests := []struct {
		name string
		req  *sip.Request
		same bool
	}{
		{"its retransmission", request("INVITE sip:park@y SIP/2.0", "10.0.0.1:5060;branch=z9hG4bKaa", "1 INVITE"), true},
		{"its CANCEL", request("CANCEL sip:park@y SIP/2.0", "10.0.0.1:5060;branch=z9hG4bKaa", "1 CANCEL"), true},
		{"another branch", request("INVITE sip:park@y SIP/2.0", "10.0.0.1:5060;branch=z9hG4bKab", "1 INVITE"), false},
		{"another sent-by port", request("INVITE sip:park@y SIP/2.0", "10.0.0.1:5062;branch=z9hG4bKaa", "1 INVITE"), false},
		{"another CSeq", request("INVITE sip:park@y SIP/2.0", "10.0.0.1:5060;branch=z9hG4bKaa", "2 INVITE"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inviteTxKey(tt.req) == inviteTxKey(invite); got != tt.same {
				t.Errorf("same key = %v, want %v", got, tt.same)
			}
		})
	}
}

func TestExpiringSetRemoveAndAddAgain(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name  string
		steps func(e *expiringSet[string])
		at    time.Duration // when asked, after t0
		known bool
	}{
		{"removed", func(e *expiringSet[string]) { e.add("k", t0); e.remove("k") }, time.Second, false},
		{"added again after a remove", func(e *expiringSet[string]) {
			e.add("k", t0)
			e.remove("k")
			e.add("k", t0.Add(time.Second))
		}, time.Second, true},
		{"added again keeps the later entry's window", func(e *expiringSet[string]) {
			e.add("k", t0)
			e.add("k", t0.Add(10*time.Second))
		}, rememberWindow() + time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e expiringSet[string]
			e.init(maxRemembered)
			tt.steps(&e)
			if got := e.has("k", t0.Add(tt.at)); got != tt.known {
				t.Errorf("has = %v, want %v", got, tt.known)
			}
		})
	}
}

// Once parkd has answered an INVITE 200 it keeps no sipgo transaction for
// it, yet a retransmission of that INVITE (the caller missed the 200) is
// still absorbed, before and after the ACK, and a CANCEL that crossed the
// 200 gets 200: one call, never a second one parked from a copy.
func TestRetransmittedInviteAfterThe200IsAbsorbed(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	live := ep.liveTx.Load()
	from := "From: <sip:caller@" + p.addr.String() + ">;tag=fabs"
	invite := func() {
		p.send(addr, testSDP, "INVITE sip:park@"+addr+" SIP/2.0", p.via("inv-abs"), from, "To: <sip:park@"+addr+">",
			"Call-ID: absorbed", "CSeq: 1 INVITE", "Contact: <sip:caller@"+p.addr.String()+">", "Content-Type: application/sdp")
	}
	invite()
	ok := p.response(ctx, 200, sip.INVITE)
	c := receive(t, h.calls, "the answered call")
	waitFor(t, "the INVITE's transaction to end with its 200", func() bool { return ep.liveTx.Load() == live })

	invite() // before the ACK: parkd resends its 200 on its own, nothing else
	p.send(addr, "", "CANCEL sip:park@"+addr+" SIP/2.0", p.via("inv-abs"), from, "To: <sip:park@"+addr+">",
		"Call-ID: absorbed", "CSeq: 1 CANCEL")
	p.response(ctx, 200, sip.CANCEL)
	deadline := time.After(700 * time.Millisecond) // past the first resend of the 200 (T1)
	for waiting := true; waiting; {
		select {
		case m := <-p.msgs:
			res, isRes := m.(*sip.Response)
			if !isRes || res.StatusCode != 200 || res.CSeq().MethodName != sip.INVITE || res.To().Value() != ok.To().Value() {
				t.Fatalf("after the copy of the INVITE and its CANCEL, got:\n%s", m)
			}
		case second := <-h.calls:
			t.Fatalf("the copy of the INVITE was answered as a second call %v", second.ID)
		case <-deadline:
			waiting = false
		}
	}
	select {
	case <-c.Done():
		t.Fatal("the CANCEL after the 200 ended the call")
	default:
	}

	p.send(addr, "", "ACK sip:parkd@"+addr+" SIP/2.0", p.via("ack-abs"), from, "To: "+ok.To().Value(), "Call-ID: absorbed", "CSeq: 1 ACK")
	receive(t, c.Confirmed(), "the ACK taken")
	invite() // a late copy, after the ACK
	p.silent(300 * time.Millisecond)
	select {
	case second := <-h.calls:
		t.Fatalf("the late copy of the INVITE was answered as a second call %v", second.ID)
	default:
	}
	if n := ep.Calls(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

// sipgo's INVITE transaction now ends as the 200 leaves; the handler's
// context must not end with it, since a handler goes on with the call
// (a retrieve waits for the ACK, then bridges) after answering.
func TestHandlerContextOutlivesTheAnsweredTransaction(t *testing.T) {
	_, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	ended := make(chan error, 1)
	h.afterAnswer = func(ctx context.Context) {
		select {
		case <-ctx.Done():
			ended <- ctx.Err()
		case <-time.After(300 * time.Millisecond):
			ended <- nil
		}
	}
	p := newRawPeer(t, "127.0.0.1")
	p.send(addr, testSDP, "INVITE sip:park@"+addr+" SIP/2.0", p.via("inv-ctx"), "From: <sip:caller@"+p.addr.String()+">;tag=fctx",
		"To: <sip:park@"+addr+">", "Call-ID: ctx-outlives", "CSeq: 1 INVITE", "Contact: <sip:caller@"+p.addr.String()+">",
		"Content-Type: application/sdp")
	p.response(ctx, 200, sip.INVITE)
	receive(t, h.calls, "the answered call")
	if err := receive(t, ended, "the handler's wait"); err != nil {
		t.Errorf("the handler's context ended after the answer: %v", err)
	}
}
