package sipcore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// ackError acknowledges res, a final error to the INVITE sent by
// p.invite with callID and branch: the same branch (RFC 3261 §17.1.1.3)
// and the error's To tag.
func (p *rawPeer) ackError(to, user, callID, branch string, res *sip.Response) {
	p.send(to, "",
		"ACK sip:"+user+"@"+to+" SIP/2.0",
		p.via(branch),
		"From: <sip:t@"+p.addr.String()+">;tag=f"+callID,
		"To: "+res.To().Value(),
		"Call-ID: "+callID,
		"CSeq: 1 ACK")
}

// busyInvite sends a busy endpoint an INVITE and returns its 486.
func (p *rawPeer) busyInvite(addr, callID, branch string) *sip.Response {
	p.t.Helper()
	p.invite(addr, "busy", callID, branch)
	busy := p.final(testCtx(p.t), sip.INVITE)
	if busy.StatusCode != 486 {
		p.t.Fatalf("INVITE answered %d, want 486", busy.StatusCode)
	}
	return busy
}

// busyEndpoint answers every INVITE 486, resending it from T1 = t1
// (shortenT1).
func busyEndpoint(t *testing.T, t1 time.Duration) (*Endpoint, string) {
	ep, addr := newEndpointFor(t, inviteFunc(func(_ context.Context, inv *Invite) {
		inv.Reject(486, "Busy Here", "")
	}))
	shortenT1(ep, t1)
	return ep, addr
}

// ringingInvite sends a door endpoint an INVITE for target from a new
// raw peer, and waits for its 180 and for it at the handler.
func ringingInvite(t *testing.T, target, callID, branch string) (*Endpoint, *doorHandler, string, *rawPeer, *Invite) {
	t.Helper()
	ep, h, addr := newDoorEndpoint(t, nil)
	p := newRawPeer(t, "127.0.0.1")
	p.invite(addr, target, callID, branch)
	p.response(testCtx(t), 180, sip.INVITE)
	return ep, h, addr, p, receive(t, h.ringing, "the ringing INVITE")
}

// A new call's INVITE over UDP is parkd's own transaction's, not
// sipgo's: while it rings, a copy of it gets the 180 again, and once it
// is answered the transaction is gone.
func TestACopyOfARingingInviteGetsItsRingingAgain(t *testing.T) {
	ep, h, addr, p, _ := ringingInvite(t, "hold", "ring-1", "ring1")
	ctx := testCtx(t)
	if n := ep.inviteTxs.len(); n != 1 {
		t.Fatalf("%d INVITE transactions of parkd's own while one INVITE rings, want 1", n)
	}

	p.invite(addr, "hold", "ring-1", "ring1") // a copy: same branch
	again, ok := p.next(ctx).(*sip.Response)
	if !ok || again.StatusCode != 180 {
		t.Fatalf("a copy of the ringing INVITE got %v, want its 180 again", again)
	}
	h.release <- struct{}{}
	p.response(ctx, 200, sip.INVITE)
	receive(t, h.calls, "the answered call")
	waitFor(t, "the answered INVITE's transaction gone", func() bool { return ep.inviteTxs.len() == 0 })
	waitFor(t, "no server transaction counted live", func() bool { return ep.liveTx.Load() == 0 })
}

// A final error is resent, T1 doubling to T2, until its ACK (RFC 3261
// §17.2.1, Timer G); after the ACK neither a resend nor a copy of the
// INVITE gets anything, and a CANCEL gets 200 and changes nothing.
func TestAFinalErrorIsResentUntilItsAck(t *testing.T) {
	t1 := 20 * time.Millisecond
	ep, addr := busyEndpoint(t, t1)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	busy := p.busyInvite(addr, "err-1", "err1")
	if again := p.final(ctx, sip.INVITE); again.String() != busy.String() {
		t.Fatalf("the resent answer differs:\n%s\nfirst:\n%s", again, busy)
	}

	p.ackError(addr, "busy", "err-1", "err1", busy)
	resendsStop(t, p, 486, t1)
	p.invite(addr, "busy", "err-1", "err1") // a copy, in Confirmed
	p.silent(8 * t1)                        // past two resends' worth of T2

	p.cancel(addr, "busy", "err-1", "err1")
	if res := p.final(ctx, sip.CANCEL); res.StatusCode != 200 {
		t.Fatalf("a CANCEL after the final answer got %d, want 200", res.StatusCode)
	}
	p.silent(4 * t1) // and no 487
	if n := ep.inviteTxs.len(); n != 1 {
		t.Fatalf("%d INVITE transactions after the ACK, want 1 (absorbing ACKs for T4)", n)
	}
}

// A final error never acknowledged is resent until 64·T1 (Timer H), and
// then the transaction ends: no more resends, nothing kept.
func TestAFinalErrorNeverAcknowledgedIsGivenUp(t *testing.T) {
	t1 := 5 * time.Millisecond // 64·T1 = 320 ms
	ep, addr := busyEndpoint(t, t1)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	start := time.Now()
	p.invite(addr, "busy", "noack-1", "noack1")
	p.final(ctx, sip.INVITE)
	late := 20 * t1 // how late a timer may run on a loaded machine
	copies, last := 0, time.Now()
	for quiet := false; !quiet; {
		select {
		case m := <-p.msgs:
			if res, ok := m.(*sip.Response); !ok || res.StatusCode != 486 {
				t.Fatalf("while waiting for the resends to end, got:\n%s", m)
			}
			copies, last = copies+1, time.Now()
			if last.Sub(start) > 64*t1+time.Second {
				t.Fatalf("the 486 is still resent %v after the INVITE, 64·T1 being %v", last.Sub(start), 64*t1)
			}
		case <-time.After(late):
			quiet = true
		}
	}
	if given := last.Sub(start); given > 64*t1+late {
		t.Errorf("the last resend came %v after the INVITE, past 64·T1 (%v)", given, 64*t1)
	}
	// Every T1 doubling to T2 (5, 10, 20, 20 ms ...) within 64·T1: some
	// eighteen; far fewer would mean no resending, far more no doubling.
	if copies < 8 || copies > 22 {
		t.Errorf("%d resends of the 486, want about 18", copies)
	}
	waitFor(t, "the transaction gone", func() bool { return ep.inviteTxs.len() == 0 })
	waitFor(t, "no server transaction counted live", func() bool { return ep.liveTx.Load() == 0 })
}

// A Via whose branch sipgo reads otherwise than the bytes say (a space
// after the ';', legal in RFC 3261) stays with sipgo's transaction, which
// keys the INVITE and its copies alike: a copy must never start a second
// call.
func TestAnInviteWithAnOddlySpelledBranchIsOneCall(t *testing.T) {
	for _, via := range []string{
		"Via: SIP/2.0/UDP %s;rport; branch=z9hG4bKodd1",
		"Via: SIP/2.0/UDP %s;Branch=z9hG4bKodd2",
	} {
		t.Run(via, func(t *testing.T) {
			ep, h, addr := newDoorEndpoint(t, nil)
			ctx := testCtx(t)
			p := newRawPeer(t, "127.0.0.1")
			invite := func() {
				p.send(addr, testSDP, "INVITE sip:hold@"+addr+" SIP/2.0", fmt.Sprintf(via, p.addr),
					"From: <sip:t@"+p.addr.String()+">;tag=fodd", "To: <sip:hold@"+addr+">",
					"Call-ID: odd", "CSeq: 1 INVITE", "Contact: <sip:t@"+p.addr.String()+">",
					"Content-Type: application/sdp")
			}
			invite()
			p.response(ctx, 180, sip.INVITE)
			inv := receive(t, h.ringing, "the ringing INVITE")
			invite() // a copy
			p.response(ctx, 180, sip.INVITE)
			select {
			case <-h.ringing:
				t.Fatal("a copy of the INVITE reached the handler as a second call")
			case <-time.After(300 * time.Millisecond):
			}
			if n := ep.inviteTxs.len(); n != 0 {
				t.Errorf("%d INVITE transactions of parkd's own, want 0 (sipgo's)", n)
			}
			inv.Reject(486, "Busy Here", "")
		})
	}
}

// A CANCEL of a ringing INVITE is counted once, with its 200 and the
// INVITE's 487, by the transaction that answered them.
func TestACancelOfARingingInviteIsCountedOnce(t *testing.T) {
	ep, _, addr, p, inv := ringingInvite(t, "hold", "count-1", "count1")
	ctx := testCtx(t)
	p.cancel(addr, "hold", "count-1", "count1")
	p.response(ctx, 200, sip.CANCEL)
	if res := p.final(ctx, sip.INVITE); res.StatusCode != 487 {
		t.Fatalf("the canceled INVITE got %d, want 487", res.StatusCode)
	}
	receive(t, inv.Canceled(), "the INVITE canceled")
	waitFor(t, "the handler done", func() bool { return ep.PendingInvites() == 0 })
	st := ep.Stats()
	if got := requestCounts(st)["CANCEL"]; got != 1 {
		t.Errorf("%d CANCELs counted, want 1", got)
	}
	res := responseCounts(st)
	if res["CANCEL 200"] != 1 || res["INVITE 487"] != 1 {
		t.Errorf("counted CANCEL 200 %d times and INVITE 487 %d times, want once each", res["CANCEL 200"], res["INVITE 487"])
	}
}

// Shutting down ends an INVITE still ringing, as sipgo's Close ended its
// transactions: the handler's context ends, and it does not ring on
// through a closed endpoint.
func TestShutdownEndsAnInviteStillRinging(t *testing.T) {
	ep, h, _, _, _ := ringingInvite(t, "linger", "linger-1", "linger1")
	handlerCtx := receive(t, h.holdCtx, "the handler's context")
	shutdownInBackground(ep, 300*time.Millisecond)
	select {
	case <-handlerCtx.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("the ringing INVITE's handler still runs 3 s after shutdown began")
	}
}

// A CANCEL matches its INVITE's transaction by the top Via's branch and
// sent-by, with the Call-ID, From tag and CSeq number RFC 3261 §9.1 has
// it copy, however its Via is spelled. One that matches ends the ringing
// INVITE with 487; one from another sent-by, or with another CSeq, is no
// CANCEL of it and gets 481.
func TestACancelMatchesItsInvite(t *testing.T) {
	tests := []struct {
		name     string
		via      func(p *rawPeer, branch string) string
		cseq     string
		canceled bool
	}{
		{"the INVITE's Via", func(p *rawPeer, b string) string { return p.via(b) }, "1", true},
		{"a Via folded over two lines", func(p *rawPeer, b string) string {
			return fmt.Sprintf("Via: SIP/2.0/UDP %s;rport\r\n ;branch=z9hG4bK%s", p.addr, b)
		}, "1", true},
		{"the compact form", func(p *rawPeer, b string) string {
			return fmt.Sprintf("v: SIP/2.0/UDP %s;branch=z9hG4bK%s", p.addr, b)
		}, "1", true},
		{"another CSeq number", func(p *rawPeer, b string) string { return p.via(b) }, "7", false},
		{"another sent-by", func(p *rawPeer, b string) string {
			return fmt.Sprintf("Via: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bK%s", b)
		}, "1", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			callID, branch := fmt.Sprintf("match-%d", i), fmt.Sprintf("match%d", i)
			ep, _, addr, p, inv := ringingInvite(t, "hold", callID, branch)
			ctx := testCtx(t)
			p.send(addr, "",
				"CANCEL sip:hold@"+addr+" SIP/2.0",
				tt.via(p, branch),
				"From: <sip:t@"+p.addr.String()+">;tag=f"+callID,
				"To: <sip:hold@"+addr+">",
				"Call-ID: "+callID,
				"CSeq: "+tt.cseq+" CANCEL")
			res := p.final(ctx, sip.CANCEL)
			if !tt.canceled {
				if res.StatusCode != 481 {
					t.Fatalf("the CANCEL got %d, want 481", res.StatusCode)
				}
				select {
				case <-inv.Canceled():
					t.Fatal("the CANCEL canceled the INVITE")
				case <-time.After(100 * time.Millisecond):
				}
				return
			}
			if res.StatusCode != 200 {
				t.Fatalf("the CANCEL got %d, want 200", res.StatusCode)
			}
			if fin := p.final(ctx, sip.INVITE); fin.StatusCode != 487 {
				t.Fatalf("the canceled INVITE got %d, want 487", fin.StatusCode)
			}
			receive(t, inv.Canceled(), "the INVITE canceled")
			// Counted once, whether the read filter or a handler matched it.
			st := ep.Stats()
			if got := requestCounts(st)["CANCEL"]; got != 1 {
				t.Errorf("%d CANCELs counted, want 1", got)
			}
			if got := responseCounts(st); got["CANCEL 200"] != 1 || got["INVITE 487"] != 1 {
				t.Errorf("counted CANCEL 200 %d times and INVITE 487 %d times, want once each", got["CANCEL 200"], got["INVITE 487"])
			}
		})
	}
}

// The ACK of a final error stops its resends however its Via is spelled.
func TestAFoldedAckStopsTheErrorsResends(t *testing.T) {
	t1 := 20 * time.Millisecond
	_, addr := busyEndpoint(t, t1)
	p := newRawPeer(t, "127.0.0.1")
	busy := p.busyInvite(addr, "fold-ack", "foldack")
	p.send(addr, "",
		"ACK sip:busy@"+addr+" SIP/2.0",
		fmt.Sprintf("Via: SIP/2.0/UDP %s;rport\r\n ;branch=z9hG4bKfoldack", p.addr),
		"From: <sip:t@"+p.addr.String()+">;tag=ffold-ack",
		"To: "+busy.To().Value(),
		"Call-ID: fold-ack",
		"CSeq: 1 ACK")
	resendsStop(t, p, 486, t1)
}

// resendsStop waits for the resends of a final error after its ACK to
// stop: those already on the way may still come, then none for twice T2
// (4*t1, shortenT1), the longest gap between two resends.
func resendsStop(t *testing.T, p *rawPeer, code int, t1 time.Duration) {
	t.Helper()
	deadline := time.Now().Add(50 * t1) // within Timer H (64*t1)
	for {
		select {
		case m := <-p.msgs:
			if res, ok := m.(*sip.Response); !ok || res.StatusCode != code {
				t.Fatalf("after the ACK, got:\n%s", m)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the %d is still resent %v after its ACK", code, 50*t1)
			}
		case <-time.After(8 * t1):
			return
		}
	}
}
