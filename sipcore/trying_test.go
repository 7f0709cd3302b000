package sipcore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestWhenInviteGetsTrying: parkd sends 100 Trying before any work only
// for an INVITE that waited (parkd is behind). On time, a slow answer's
// caller gets it after the trying delay, even when the INVITE was
// retransmitted meanwhile (which stopped sipgo's own timer for good), and
// one answered at once gets its 200 with no 100 before it.
func TestWhenInviteGetsTrying(t *testing.T) {
	cases := []struct {
		name          string
		waited        time.Duration // how old the INVITE's read is made to look
		retransmitAt  time.Duration // when the caller sends the INVITE again (0: never)
		holdFor       time.Duration // how long the handler takes to answer
		wantFirst     int           // the first response the caller gets
		notBefore     time.Duration // and not before this, from the INVITE
		notAfterStart time.Duration // nor later than this (0: any time)
	}{
		{"behind: 100 at once", 50 * time.Millisecond, 0, 300 * time.Millisecond, 100, 0, 100 * time.Millisecond},
		{"on time, slow answer: 100 after the delay", 0, 0, 400 * time.Millisecond, 100, 120 * time.Millisecond, 350 * time.Millisecond},
		{"on time, INVITE sent again: 100 all the same", 0, 30 * time.Millisecond, 400 * time.Millisecond, 100, 120 * time.Millisecond, 350 * time.Millisecond},
		{"on time, answered at once: no 100", 0, 0, 0, 200, 0, 0},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep, h, addr := newSlowEndpoint(t)
			ep.tryingDelay.Store(int64(150 * time.Millisecond))
			ctx := testCtx(t)
			p := newRawPeer(t, "127.0.0.1")
			callID, branch := "trying-"+strconv.Itoa(i), "trying"+strconv.Itoa(i)
			if tc.waited > 0 {
				ep.arrivals.note([]byte("z9hG4bK"+branch), time.Now().Add(-tc.waited))
			}
			sent := time.Now()
			p.invite(addr, "slow", callID, branch)
			receive(t, h.arrived, "the INVITE at the handler")
			if tc.retransmitAt > 0 {
				time.Sleep(tc.retransmitAt - time.Since(sent))
				p.invite(addr, "slow", callID, branch)
			}
			time.AfterFunc(tc.holdFor, func() { close(h.go_) })
			res, ok := p.next(ctx).(*sip.Response)
			if !ok || res.StatusCode != tc.wantFirst {
				t.Fatalf("first message: %v, want %d", res, tc.wantFirst)
			}
			took := time.Since(sent)
			if took < tc.notBefore || (tc.notAfterStart > 0 && took > tc.notAfterStart) {
				t.Errorf("%d came %v after the INVITE, want between %v and %v", tc.wantFirst, took, tc.notBefore, tc.notAfterStart)
			}
			if tc.wantFirst != 200 {
				p.response(ctx, 200, sip.INVITE)
			}
			if err := <-h.answers; err != nil {
				t.Fatalf("Answer: %v", err)
			}
		})
	}
}

// rejecter answers every INVITE 486 after a delay.
type rejecter struct{ after time.Duration }

func (h rejecter) HandleInvite(ctx context.Context, inv *Invite) {
	time.Sleep(h.after)
	inv.Reject(486, "Busy Here", "")
}
func (rejecter) CallEnded(*Call, EndReason)                           {}
func (rejecter) ResolveSubscription(*SubscribeRequest) (string, bool) { return "", false }
func (rejecter) SubscriptionsChanged(string)                          {}

// TestTryingNeverReplacesTheFinal: the 100's timer fires about when the
// final answer goes out, many times over. The final must stay what the
// transaction resends to a retransmitted INVITE; a 100 sent after it would
// replace it (sipgo stores the last response before deciding whether to
// send it).
func TestTryingNeverReplacesTheFinal(t *testing.T) {
	ep, addr := newEndpointFor(t, rejecter{after: 2 * time.Millisecond})
	ep.tryingDelay.Store(int64(2 * time.Millisecond))
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	for i := range 150 {
		callID, branch := "race-"+strconv.Itoa(i), "race"+strconv.Itoa(i)
		p.invite(addr, "busy", callID, branch)
		p.final(ctx, sip.INVITE)
		p.invite(addr, "busy", callID, branch)
		// The retransmission's answer: skip a 100 that left before the final.
		for {
			res, ok := p.next(ctx).(*sip.Response)
			if !ok || res.CallID().Value() != callID {
				continue
			}
			if res.StatusCode == 486 {
				break
			}
			if res.StatusCode == 100 {
				continue
			}
			t.Fatalf("INVITE %d: a retransmission after the 486 got %d", i, res.StatusCode)
		}
	}
}

// TestCancelCrossingTheTryingKeeps487: a CANCEL lands between the 100
// timer's check and its send, so sipgo has sent 487 when the 100 reaches
// it. The 487 must stay what the transaction resends.
func TestCancelCrossingTheTryingKeeps487(t *testing.T) {
	// The hook is set before the endpoint starts, and what it does reaches
	// it through a channel: the timer's goroutine has no other ordering
	// with the test's.
	crossing := make(chan func(), 1)
	beforeTryingSent = func(*tryingTx) {
		// Bounded: this runs on the timer's goroutine, which cannot fail
		// the test; a lost CANCEL fails it below.
		select {
		case cross := <-crossing:
			cross()
		case <-time.After(2 * time.Second):
		}
	}
	t.Cleanup(func() { beforeTryingSent = func(*tryingTx) {} })
	ep, h, addr := newSlowEndpoint(t)
	ep.tryingDelay.Store(int64(50 * time.Millisecond))
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	p.invite(addr, "slow", "tcross-1", "tcross1")
	inv := receive(t, h.arrived, "the INVITE at the handler")
	crossing <- func() {
		p.cancel(addr, "slow", "tcross-1", "tcross1")
		select {
		case <-inv.Canceled():
		case <-time.After(2 * time.Second):
		}
	}
	p.response(ctx, 200, sip.CANCEL)
	if res := p.final(ctx, sip.INVITE); res.StatusCode != 487 {
		t.Fatalf("canceled INVITE answered %d, want 487", res.StatusCode)
	}
	time.Sleep(20 * time.Millisecond) // the 100's send, refused, and the 487 put back
	p.invite(addr, "slow", "tcross-1", "tcross1")
	for {
		res, ok := p.next(ctx).(*sip.Response)
		if !ok || res.CSeq().MethodName != sip.INVITE {
			continue
		}
		if res.StatusCode != 487 {
			t.Fatalf("a retransmission after the 487 got %d", res.StatusCode)
		}
		break
	}
	close(h.go_)
	if err := <-h.answers; err != ErrCanceled {
		t.Fatalf("Answer after CANCEL: %v, want ErrCanceled", err)
	}
}

// sip20 accepts SIP/2.0 in any case and leaves it upper case in the
// datagram, which sipgo then parses.
func TestSip20SpellsTheVersion(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"INVITE sip:a@b SIP/2.0\r\nVia: x\r\n", "INVITE sip:a@b SIP/2.0\r\nVia: x\r\n", true},
		{"INVITE sip:a@b sip/2.0\r\nVia: x\r\n", "INVITE sip:a@b SIP/2.0\r\nVia: x\r\n", true},
		{"OPTIONS sip:a@b Sip/2.0\n", "OPTIONS sip:a@b SIP/2.0\n", true},
		{"INVITE sip:a@b SIP/3.0\r\n", "INVITE sip:a@b SIP/3.0\r\n", false},
		{"INVITE sip:a@b sip/2.0", "INVITE sip:a@b sip/2.0", false}, // no end of line
	}
	for _, tc := range cases {
		data := []byte(tc.in)
		if ok := sip20(data); ok != tc.ok || string(data) != tc.want {
			t.Errorf("sip20(%q) = %v, datagram %q; want %v, %q", tc.in, ok, data, tc.ok, tc.want)
		}
	}
}
