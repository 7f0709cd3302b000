package sipcore

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A hang-up that comes before the ACK of parkd's 200 holds its BYE until
// the ACK (RFC 3261 §15): a caller whose 200 was lost would otherwise
// get a BYE for a dialog it does not have, then the resent 200 for a
// call that is up. Without an ACK the BYE goes after ByeAckGrace.
func TestHangupBeforeTheAckWaitsForIt(t *testing.T) {
	const grace = 700 * time.Millisecond
	for _, tc := range []struct {
		name string
		ack  bool
	}{
		{"the ACK comes", true},
		{"no ACK comes", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep, h, addr := newDoorEndpoint(t, nil)
			ep.ackGrace.Store(int64(grace))
			ctx := testCtx(t)
			phone := newRawPeer(t, "127.0.0.1")
			from := "From: <sip:raw@127.0.0.1>;tag=caller-early"
			phone.send(addr, testSDP, "INVITE sip:park@"+addr+" SIP/2.0", phone.via("inv-early"), from, "To: <sip:park@"+addr+">",
				"Call-ID: hangup-before-ack", "CSeq: 1 INVITE", "Contact: <sip:raw@"+phone.addr.String()+">", "Content-Type: application/sdp")
			ok := phone.response(ctx, 200, sip.INVITE)
			c := receive(t, h.calls, "the answered call")
			start := time.Now()
			done := hangingUp(ctx, c)

			quiet := time.After(300 * time.Millisecond)
			for waiting := true; waiting; {
				select {
				case m := <-phone.msgs:
					if req, isReq := m.(*sip.Request); isReq && req.Method == sip.BYE {
						t.Fatalf("BYE %s after the hang-up, before any ACK", time.Since(start))
					}
				case <-quiet:
					waiting = false
				}
			}
			if tc.ack {
				phone.send(addr, "", "ACK sip:parkd@"+addr+" SIP/2.0", phone.via("ack-early"), from, "To: "+ok.To().Value(),
					"Call-ID: hangup-before-ack", "CSeq: 1 ACK")
			}
			bye := nextBye(ctx, phone)
			if waited := time.Since(start); !tc.ack && waited < grace {
				t.Errorf("BYE after %s without an ACK, before the grace (%s)", waited, grace)
			}
			phone.answer(addr, bye, 200)
			receive(t, done, "Hangup to return after the BYE's answer")
			if tc.ack {
				select {
				case <-c.Confirmed():
				default:
					t.Error("the ACK that came during the hang-up was not taken")
				}
			}
		})
	}
}
