package sipcore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestAnsweredKeysNameOneTransaction(t *testing.T) {
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
	key, full := answeredKeys(invite)
	tests := []struct {
		name     string
		req      *sip.Request
		sameKey  bool
		sameFull bool
	}{
		{"its retransmission", request("INVITE sip:park@y SIP/2.0", "10.0.0.1:5060;branch=z9hG4bKaa", "1 INVITE"), true, true},
		{"its CANCEL", request("CANCEL sip:park@y SIP/2.0", "10.0.0.1:5060;branch=z9hG4bKaa", "1 CANCEL"), true, true},
		{"another branch", request("INVITE sip:park@y SIP/2.0", "10.0.0.1:5060;branch=z9hG4bKab", "1 INVITE"), false, false},
		{"the branch from another sent-by", request("INVITE sip:park@y SIP/2.0", "10.0.0.1:5062;branch=z9hG4bKaa", "1 INVITE"), true, false},
		{"its CANCEL naming the default port", request("CANCEL sip:park@y SIP/2.0", "10.0.0.1;branch=z9hG4bKaa", "1 CANCEL"), true, true},
		{"the branch with another CSeq", request("INVITE sip:park@y SIP/2.0", "10.0.0.1:5060;branch=z9hG4bKaa", "2 INVITE"), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, f := answeredKeys(tt.req)
			if (k == key) != tt.sameKey || (f == full) != tt.sameFull {
				t.Errorf("same key %v, same full %v; want %v, %v", k == key, f == full, tt.sameKey, tt.sameFull)
			}
		})
	}
	// Without an RFC 3261 branch the branch names nothing: the key is the
	// whole transaction's, so two such INVITEs never share an entry.
	a, b := request("INVITE sip:park@y SIP/2.0", "10.0.0.1:5060", "1 INVITE"), request("INVITE sip:park@y SIP/2.0", "10.0.0.1:5060", "2 INVITE")
	ka, fa := answeredKeys(a)
	kb, _ := answeredKeys(b)
	if ka != fa || ka == kb {
		t.Errorf("RFC 2543 INVITEs: key %x full %x, the other's key %x", ka, fa, kb)
	}
}

func TestExpiringSetRemoveAndAddAgain(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name  string
		steps func(e *expiringSet[string, int])
		at    time.Duration // when asked, after t0
		want  int           // the value found; 0 when none
	}{
		{"removed", func(e *expiringSet[string, int]) { e.add("k", 1, t0); e.remove("k") }, time.Second, 0},
		{"added again after a remove outlives the first entry", func(e *expiringSet[string, int]) {
			e.add("k", 1, t0)
			e.remove("k")
			e.add("k", 2, t0.Add(time.Second))
		}, rememberWindow() + 500*time.Millisecond, 2},
		{"added again keeps the later entry's window and value", func(e *expiringSet[string, int]) {
			e.add("k", 1, t0)
			e.add("k", 2, t0.Add(10*time.Second))
		}, rememberWindow() + time.Second, 2},
		{"the later entry expires too", func(e *expiringSet[string, int]) {
			e.add("k", 1, t0)
			e.add("k", 2, t0.Add(10*time.Second))
		}, rememberWindow() + 11*time.Second, 0},
		{"one key added past the bound stays, once", func(e *expiringSet[string, int]) {
			for i := range 3 * e.max {
				e.add("k", i+1, t0)
			}
			if n := len(e.queue) - e.head; n > e.max {
				t.Errorf("%d queue entries for one key, bound %d", n, e.max)
			}
		}, time.Second, 3 * 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e expiringSet[string, int]
			e.init(64)
			tt.steps(&e)
			if got, _ := e.get("k", t0.Add(tt.at)); got != tt.want {
				t.Errorf("get = %d, want %d", got, tt.want)
			}
		})
	}
}

// Once parkd has answered an INVITE 200 it keeps no sipgo transaction for
// it, yet a retransmission of that INVITE (the caller missed the 200) is
// still absorbed, before and after the ACK, and a CANCEL that crossed the
// 200 gets 200: one call, never a second one parked from a copy. With an
// RFC 3261 branch the read filter drops the copies before any handler
// sees them; without one, the INVITE handler absorbs them.
func TestRetransmittedInviteAfterThe200IsAbsorbed(t *testing.T) {
	tests := []struct {
		name    string
		branch  string // the top Via's
		cancel  bool   // a CANCEL follows the first copy
		handled uint64 // INVITEs that reached a handler, copies included
	}{
		{"RFC 3261 branch", "z9hG4bKinv-abs", true, 1},
		// No CANCEL here: sipgo would match it to the copy's own
		// transaction if it came before the handler ended that.
		{"RFC 2543 branch", "inv-abs-2543", false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, h, addr := newDoorEndpoint(t, nil)
			ctx := testCtx(t)
			p := newRawPeer(t, "127.0.0.1")
			live := ep.liveTx.Load()
			via := "Via: SIP/2.0/UDP " + p.addr.String() + ";branch=" + tt.branch
			from := "From: <sip:caller@" + p.addr.String() + ">;tag=fabs"
			invite := func() {
				p.send(addr, testSDP, "INVITE sip:park@"+addr+" SIP/2.0", via, from, "To: <sip:park@"+addr+">",
					"Call-ID: absorbed", "CSeq: 1 INVITE", "Contact: <sip:caller@"+p.addr.String()+">", "Content-Type: application/sdp")
			}
			invite()
			ok := p.response(ctx, 200, sip.INVITE)
			c := receive(t, h.calls, "the answered call")
			waitFor(t, "the INVITE's transaction to end with its 200", func() bool { return ep.liveTx.Load() == live })

			invite() // before the ACK: parkd resends its 200 on its own, nothing else
			if tt.cancel {
				p.send(addr, "", "CANCEL sip:park@"+addr+" SIP/2.0", via, from, "To: <sip:park@"+addr+">",
					"Call-ID: absorbed", "CSeq: 1 CANCEL")
			}
			canceled := 0
			deadline := time.After(700 * time.Millisecond) // past the first resend of the 200 (T1)
			for waiting := true; waiting; {
				select {
				case m := <-p.msgs:
					res, isRes := m.(*sip.Response)
					switch {
					case isRes && res.StatusCode == 200 && res.CSeq().MethodName == sip.CANCEL:
						canceled++
					case isRes && res.StatusCode == 200 && res.CSeq().MethodName == sip.INVITE && res.To().Value() == ok.To().Value():
					default:
						t.Fatalf("after the copy of the INVITE, got:\n%s", m)
					}
				case second := <-h.calls:
					t.Fatalf("the copy of the INVITE was answered as a second call %v", second.ID)
				case <-deadline:
					waiting = false
				}
			}
			if tt.cancel && canceled != 1 {
				t.Errorf("the CANCEL after the 200 got %d 200s, want 1", canceled)
			}
			select {
			case <-c.Done():
				t.Fatal("the call ended")
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
			if n := requestsCounted(ep, sip.INVITE); n != tt.handled {
				t.Errorf("%d INVITEs reached a handler, want %d", n, tt.handled)
			}
		})
	}
}

func requestsCounted(ep *Endpoint, m sip.RequestMethod) uint64 {
	for _, mc := range ep.Stats().Requests {
		if mc.Method == string(m) {
			return mc.Count
		}
	}
	return 0
}

// sipgo's INVITE transaction now ends as the 200 leaves; the handler's
// context must not end with it, since a handler goes on with the call
// (a retrieve waits for the ACK, then bridges) after answering.
func TestHandlerContextOutlivesTheAnsweredTransaction(t *testing.T) {
	_, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	ended := make(chan error, 1)
	afterAnswer := func(ctx context.Context) {
		select {
		case <-ctx.Done():
			ended <- ctx.Err()
		case <-time.After(300 * time.Millisecond):
			ended <- nil
		}
	}
	h.afterAnswer.Store(&afterAnswer)
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

// A transaction that ends before parkd answered, with no CANCEL (a
// failed send of its provisional answer, or an explicit Terminate),
// cancels the INVITE: Canceled closes and the handler's context ends,
// while the handler is still at work ("linger" leaves only when its
// context ends).
func TestTransactionEndedUnansweredCancelsTheInvite(t *testing.T) {
	_, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	p.send(addr, testSDP, "INVITE sip:linger@"+addr+" SIP/2.0", p.via("inv-ended"), "From: <sip:caller@"+p.addr.String()+">;tag=fend",
		"To: <sip:linger@"+addr+">", "Call-ID: tx-ended-unanswered", "CSeq: 1 INVITE", "Contact: <sip:caller@"+p.addr.String()+">",
		"Content-Type: application/sdp")
	p.response(ctx, 180, sip.INVITE)
	handlerCtx := receive(t, h.holdCtx, "the handler's context")
	inv := receive(t, h.ringing, "the ringing INVITE")
	select {
	case <-inv.Canceled():
		t.Fatal("canceled before its transaction ended")
	case <-handlerCtx.Done():
		t.Fatal("the handler's context ended before its transaction did")
	default:
	}
	inv.tx.Terminate()
	for what, done := range map[string]<-chan struct{}{"Canceled": inv.Canceled(), "the handler's context": handlerCtx.Done()} {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("%s still open 5 s after the transaction ended", what)
		}
	}
}
