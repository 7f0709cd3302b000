package sipcore

import (
	"context"
	"net"
	"net/netip"
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

// rejecter answers every INVITE 486 after a delay, and its handler
// returns only after holdAfter more.
func rejecter(after, holdAfter time.Duration) inviteFunc {
	return func(ctx context.Context, inv *Invite) {
		time.Sleep(after)
		inv.Reject(486, "Busy Here", "")
		time.Sleep(holdAfter)
	}
}

// TestTryingNeverReplacesTheFinal: sipgo stores a response as the one its
// transaction resends before deciding whether to send it, so a 100 after
// the final would replace the final. The final must stop the timer, even
// while the handler goes on (deterministic), and a timer firing as the
// final leaves must send its 100 first (the timer at about the answer's
// time, many times over). Either way a retransmitted INVITE gets the 486
// and no 100 comes after it.
func TestTryingNeverReplacesTheFinal(t *testing.T) {
	cases := []struct {
		name               string
		answerAfter, delay time.Duration
		holdAfter          time.Duration // the handler's time after the final
		resendAfter        time.Duration // the INVITE's retransmission, after the final
		calls              int
	}{
		// Retransmitted while the handler still runs: sipgo ends a
		// transaction whose last response is provisional once the handler
		// returns, and a retransmission would then start a new one.
		{"the timer due after the final", 0, 20 * time.Millisecond, 80 * time.Millisecond, 50 * time.Millisecond, 5},
		{"the timer due as the final leaves", 2 * time.Millisecond, 2 * time.Millisecond, 0, 10 * time.Millisecond, 150},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep, addr := newEndpointFor(t, rejecter(tc.answerAfter, tc.holdAfter))
			ep.tryingDelay.Store(int64(tc.delay))
			ctx := testCtx(t)
			p := newRawPeer(t, "127.0.0.1")
			// next is the next response for callID: the earlier calls' 486s,
			// which sipgo resends (Timer G) since this peer never ACKs, are
			// skipped.
			next := func(callID string) *sip.Response {
				for {
					res, ok := p.next(ctx).(*sip.Response)
					if ok && res.CallID().Value() == callID {
						return res
					}
				}
			}
			for i := range tc.calls {
				callID, branch := "race-"+strconv.Itoa(i), "race"+strconv.Itoa(i)
				p.invite(addr, "busy", callID, branch)
				final := next(callID)
				for final.StatusCode == 100 {
					final = next(callID)
				}
				time.Sleep(tc.resendAfter)
				p.invite(addr, "busy", callID, branch)
				again := next(callID)
				if again.StatusCode != 486 {
					t.Fatalf("INVITE %d: its retransmission after the 486 got %d", i, again.StatusCode)
				}
				// The same transaction's 486, not a new transaction's.
				tag := func(r *sip.Response) string { v, _ := r.To().Params.Get("tag"); return v }
				if tag(again) != tag(final) {
					t.Fatalf("INVITE %d: its retransmission was answered by a new transaction (To tag %s, then %s)", i, tag(final), tag(again))
				}
			}
		})
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
	timers := make(chan *tryingTx, 1)
	beforeTryingSent = func(tt *tryingTx) {
		timers <- tt
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
	// stop takes the lock the timer holds while it sends the 100 and puts
	// the 487 back: once it returns, both are done.
	receive(t, timers, "the 100's timer").stop()
	p.invite(addr, "slow", "tcross-1", "tcross1")
	p.expect487Again(ctx)
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
		if ok, _ := sip20(data); ok != tc.ok || string(data) != tc.want {
			t.Errorf("sip20(%q) = %v, datagram %q; want %v, %q", tc.in, ok, data, tc.ok, tc.want)
		}
	}
}

// sipgo's "failed to parse" lines are charged to the source whose
// datagram they quote: recentSources must know the address types parkd's
// readers hand sipgo, parkd's own UDP one included.
func TestRecentSourcesKnowEveryAddressType(t *testing.T) {
	ap := netip.MustParseAddrPort("192.0.2.7:5062")
	cases := []struct {
		name string
		addr net.Addr
	}{
		{"parkd's UDP source", newUDPSource(ap)},
		{"a UDP address", net.UDPAddrFromAddrPort(ap)},
		{"a TCP address", net.TCPAddrFromAddrPort(ap)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s recentSources
			data := []byte("NOT SIP " + tc.name)
			s.note(tc.addr, data)
			if got, ok := s.find(string(data)); !ok || got != ap {
				t.Errorf("find = %v, %v; want %v", got, ok, ap)
			}
		})
	}
}
