package sipcore

import (
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore/media"
)

// slowHandler holds every INVITE until the test lets it go, without a
// provisional response of its own, then answers it whatever happened
// meanwhile: a daemon too busy to look at Canceled.
type slowHandler struct {
	arrived chan *Invite
	go_     chan struct{}
	answers chan error
}

func (h *slowHandler) HandleInvite(ctx context.Context, inv *Invite) {
	h.arrived <- inv
	<-h.go_
	_, err := inv.Answer()
	if err != nil {
		inv.Reject(500, "Server Internal Error", "")
	}
	h.answers <- err
}

func (h *slowHandler) CallEnded(*Call, EndReason)                           {}
func (h *slowHandler) ResolveSubscription(*SubscribeRequest) (string, bool) { return "", false }
func (h *slowHandler) SubscriptionsChanged(string)                          {}

func newSlowEndpoint(t *testing.T) (*Endpoint, *slowHandler, string) {
	t.Helper()
	h := &slowHandler{arrived: make(chan *Invite, 4), go_: make(chan struct{}), answers: make(chan error, 4)}
	ep, addr := newEndpointFor(t, h)
	return ep, h, addr
}

// newEndpointFor is an endpoint on a loopback port with handler h.
func newEndpointFor(t *testing.T, h Handler) (*Endpoint, string) {
	t.Helper()
	rtp, err := media.NewAllocator(netip.MustParseAddr("127.0.0.1"), 42000, 42998)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rtp.Close) // its kept sockets hold ports other tests use
	ep, err := NewEndpoint(Config{
		Listen:   []ListenAddr{{"udp", "127.0.0.1:0"}},
		RTP:      rtp,
		Logger:   slog.New(slog.DiscardHandler),
		Settings: Settings{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
	}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		ep.Shutdown(ctx)
	})
	return ep, ep.Addrs()[0].Addr
}

// final waits for the final response to a method, skipping everything else.
func (p *rawPeer) final(ctx context.Context, method sip.RequestMethod) *sip.Response {
	p.t.Helper()
	for {
		if res, ok := p.next(ctx).(*sip.Response); ok && res.StatusCode >= 200 && res.CSeq().MethodName == method {
			return res
		}
	}
}

func (p *rawPeer) invite(to, user, callID, branch string) {
	p.send(to, testSDP,
		"INVITE sip:"+user+"@"+to+" SIP/2.0",
		p.via(branch),
		"From: <sip:t@"+p.addr.String()+">;tag=f"+callID,
		"To: <sip:"+user+"@"+to+">",
		"Call-ID: "+callID,
		"CSeq: 1 INVITE",
		"Contact: <sip:t@"+p.addr.String()+">",
		"Content-Type: application/sdp")
}

func (p *rawPeer) cancel(to, user, callID, branch string) {
	p.send(to, "",
		"CANCEL sip:"+user+"@"+to+" SIP/2.0",
		p.via(branch),
		"From: <sip:t@"+p.addr.String()+">;tag=f"+callID,
		"To: <sip:"+user+"@"+to+">",
		"Call-ID: "+callID,
		"CSeq: 1 CANCEL")
}

// TestCancelWhileHandlerIsSlowGets487NotA200: a handler that answers after
// the CANCEL came gets ErrCanceled; the caller sees 487 and never a 200.
func TestCancelWhileHandlerIsSlowGets487NotA200(t *testing.T) {
	_, h, addr := newSlowEndpoint(t)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	p.invite(addr, "slow", "cancel-1", "cancel1")
	inv := receive(t, h.arrived, "the INVITE at the handler")
	p.response(ctx, 100, sip.INVITE)
	p.cancel(addr, "slow", "cancel-1", "cancel1")
	p.response(ctx, 200, sip.CANCEL)
	if res := p.final(ctx, sip.INVITE); res.StatusCode != 487 {
		t.Fatalf("canceled INVITE answered %d, want 487", res.StatusCode)
	}
	receive(t, inv.Canceled(), "the INVITE to be canceled")
	close(h.go_)
	if err := <-h.answers; err != ErrCanceled {
		t.Fatalf("Answer after CANCEL: %v, want ErrCanceled", err)
	}
	noAnswer(t, p, 1200*time.Millisecond) // past two Timer G retransmissions
}

// TestCancelCrossingTheAnswerKeeps487: the CANCEL lands after Answer's
// last check, so sipgo has sent 487 when the 200 reaches it. The 487 must
// stay what the transaction retransmits: no 200 ever reaches the caller.
func TestCancelCrossingTheAnswerKeeps487(t *testing.T) {
	_, h, addr := newSlowEndpoint(t)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	beforeAnswerSent = func(inv *Invite) {
		p.cancel(addr, "slow", "cross-1", "cross1")
		// Bounded: this runs on the handler's goroutine, which cannot fail
		// the test; a lost CANCEL fails it below, as a 200 instead of 487.
		select {
		case <-inv.Canceled():
		case <-time.After(5 * time.Second):
		}
	}
	t.Cleanup(func() { beforeAnswerSent = func(*Invite) {} })
	p.invite(addr, "slow", "cross-1", "cross1")
	receive(t, h.arrived, "the INVITE at the handler")
	close(h.go_)
	if err := <-h.answers; err != ErrCanceled {
		t.Fatalf("Answer crossed by a CANCEL: %v, want ErrCanceled", err)
	}
	if res := p.final(ctx, sip.INVITE); res.StatusCode != 487 {
		t.Fatalf("INVITE crossed by a CANCEL answered %d, want 487", res.StatusCode)
	}
	retransmitted := noAnswer(t, p, 1200*time.Millisecond)
	if retransmitted == 0 {
		t.Fatal("no retransmission of the 487 within 1.2 s: the test proves nothing")
	}
}

// noAnswer reads for d and fails on any 2xx to the INVITE; it returns how
// many 487s (retransmissions, the caller never ACKs) arrived.
func noAnswer(t *testing.T, p *rawPeer, d time.Duration) int {
	t.Helper()
	n := 0
	deadline := time.After(d)
	for {
		select {
		case m := <-p.msgs:
			res, ok := m.(*sip.Response)
			if !ok || res.CSeq().MethodName != sip.INVITE {
				continue
			}
			if res.StatusCode >= 200 && res.StatusCode < 300 {
				t.Fatalf("the canceled INVITE was answered: %s", strings.SplitN(res.String(), "\r\n", 2)[0])
			}
			if res.StatusCode == 487 {
				n++
			}
		case <-deadline:
			return n
		}
	}
}

// TestOverloadShedsNewInvitesWith503: past MaxPendingInvites INVITEs in
// progress, a new INVITE gets 503 with Retry-After at once, while a call
// already up hangs up normally and the INVITEs in progress still finish.
func TestOverloadShedsNewInvitesWith503(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, func(c *Config) { c.MaxPendingInvites = 2 })
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")

	p.invite(addr, "up", "up-1", "up1")
	ok := p.response(ctx, 200, sip.INVITE)
	toTag, _ := ok.To().Params.Get("tag")
	target := ok.Contact().Address.String()
	receive(t, h.calls, "the answered call")
	// The answered INVITE counts as in progress until its handler has
	// returned, a moment after the call reached the test: the two held
	// INVITEs below must find the limit's two places free.
	waitFor(t, "the answered INVITE no longer in progress", func() bool { return ep.PendingInvites() == 0 })
	p.send(addr, "",
		"ACK "+target+" SIP/2.0",
		p.via("up1ack"),
		"From: <sip:t@"+p.addr.String()+">;tag=fup-1",
		"To: <sip:up@"+addr+">;tag="+toTag,
		"Call-ID: up-1",
		"CSeq: 1 ACK")

	holders := newRawPeer(t, "127.0.0.1")
	for _, id := range []string{"hold-1", "hold-2"} {
		holders.invite(addr, "hold", id, strings.ReplaceAll(id, "-", ""))
		receive(t, h.ringing, "INVITE "+id+" ringing")
	}
	flood := newRawPeer(t, "127.0.0.2")
	for i := range 5 {
		id := "flood-" + string(rune('a'+i))
		flood.invite(addr, "up", id, strings.ReplaceAll(id, "-", ""))
		res := flood.response(ctx, 503, sip.INVITE)
		if ra := res.GetHeader("Retry-After"); ra == nil || ra.Value() == "" {
			t.Fatalf("503 without Retry-After:\n%s", res)
		}
	}
	if got := ep.Stats().OverloadShed; got != 5 {
		t.Errorf("OverloadShed = %d, want 5", got)
	}

	p.send(addr, "",
		"BYE "+target+" SIP/2.0",
		p.via("up1bye"),
		"From: <sip:t@"+p.addr.String()+">;tag=fup-1",
		"To: <sip:up@"+addr+">;tag="+toTag,
		"Call-ID: up-1",
		"CSeq: 2 BYE")
	p.response(ctx, 200, sip.BYE)

	close(h.release)
	holders.response(ctx, 200, sip.INVITE)
	holders.response(ctx, 200, sip.INVITE)
	waitFor(t, "no INVITE in progress", func() bool { return ep.PendingInvites() == 0 })
	flood.invite(addr, "up", "after-1", "after1")
	flood.response(ctx, 200, sip.INVITE)
}

// answersAfterCancel waits for the CANCEL, then answers anyway: a busy
// daemon that did not look.
func answersAfterCancel(answer func(*Invite)) inviteFunc {
	return func(ctx context.Context, inv *Invite) {
		select {
		case <-inv.Canceled():
		case <-time.After(5 * time.Second):
		}
		answer(inv)
	}
}

// TestCancelCrossingAnyAnswerKeeps487: whatever parkd answers after sipgo
// sent the 487 for a CANCEL, sipgo stores it as the response to resend;
// reply puts the 487 back, so a retransmitted INVITE gets the 487.
func TestCancelCrossingAnyAnswerKeeps487(t *testing.T) {
	cases := []struct {
		name   string
		answer func(*Invite)
	}{
		{"486", func(inv *Invite) { inv.Reject(486, "Busy Here", "") }},
		{"302", func(inv *Invite) { inv.Redirect("sip:elsewhere@127.0.0.1", "full") }},
		{"180", func(inv *Invite) { inv.Ring(); inv.Reject(480, "Temporarily Unavailable", "") }},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := newEndpointFor(t, answersAfterCancel(tc.answer))
			ctx := testCtx(t)
			p := newRawPeer(t, "127.0.0.1")
			callID, branch := "xcancel-"+strconv.Itoa(i), "xcancel"+strconv.Itoa(i)
			p.invite(addr, "any", callID, branch)
			p.response(ctx, 100, sip.INVITE) // parkd's timer, at 200 ms
			p.cancel(addr, "any", callID, branch)
			p.response(ctx, 200, sip.CANCEL)
			if res := p.final(ctx, sip.INVITE); res.StatusCode != 487 {
				t.Fatalf("canceled INVITE answered %d, want 487", res.StatusCode)
			}
			time.Sleep(50 * time.Millisecond) // the handler's answer reaches sipgo
			p.invite(addr, "any", callID, branch)
			p.expect487Again(ctx)
		})
	}
}

// expect487Again checks the answer to an INVITE retransmitted after its
// transaction answered 487: the same 487, not whatever crossed the CANCEL.
func (p *rawPeer) expect487Again(ctx context.Context) {
	p.t.Helper()
	for {
		res, ok := p.next(ctx).(*sip.Response)
		if !ok || res.CSeq().MethodName != sip.INVITE {
			continue
		}
		if res.StatusCode != 487 {
			p.t.Fatalf("a retransmission after the 487 got %d", res.StatusCode)
		}
		return
	}
}
