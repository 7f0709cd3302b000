package sipcore

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore/media"
	"github.com/parkd/parkd/sipcore/siptest"
)

// referHandler answers every INVITE and follows REFERs with script
// (default: Accept, then Finish 200), reporting each Refer it got.
type referHandler struct {
	calls  chan *Call
	refers chan *Refer
	script func(ctx context.Context, r *Refer)
}

func (h *referHandler) HandleInvite(ctx context.Context, inv *Invite) {
	if c, err := inv.Answer(); err == nil {
		h.calls <- c
	}
}

func (h *referHandler) HandleRefer(ctx context.Context, r *Refer) {
	h.refers <- r
	if h.script != nil {
		h.script(ctx, r)
		return
	}
	if err := r.Accept(); err == nil {
		r.Finish(ctx, 200, "OK")
	}
}

func (h *referHandler) CallEnded(*Call, EndReason)                           {}
func (h *referHandler) ResolveSubscription(*SubscribeRequest) (string, bool) { return "", false }
func (h *referHandler) SubscriptionsChanged(string)                          {}

// newReferEndpoint is an Endpoint on UDP and TCP with handler h.
func newReferEndpoint(t *testing.T, h Handler) *Endpoint {
	t.Helper()
	rtp, err := media.NewAllocator(netip.MustParseAddr("127.0.0.1"), 43400, 43598)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rtp.Close) // its kept sockets hold ports other tests use
	ep, err := NewEndpoint(Config{
		Listen: []ListenAddr{{"udp", "127.0.0.1:0"}, {"tcp", "127.0.0.1:0"}},
		RTP:    rtp,
		Logger: slog.New(slog.DiscardHandler),
		Settings: Settings{
			Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			Subscriptions: SubscriptionConfig{
				NotifyTimeout: 2 * time.Second,
			},
		},
	}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The phones close first and answer no BYE: do not wait long.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		ep.Shutdown(ctx)
	})
	return ep
}

func newReferHandler() *referHandler {
	return &referHandler{calls: make(chan *Call, 4), refers: make(chan *Refer, 8)}
}

// epURI is a SIP URI of user at ep's listener for transport.
func epURI(ep *Endpoint, transport, user string) string {
	for _, l := range ep.Addrs() {
		if l.Network == transport {
			if transport == "tcp" {
				return "sip:" + user + "@" + l.Addr + ";transport=tcp"
			}
			return "sip:" + user + "@" + l.Addr
		}
	}
	panic("no " + transport + " listener")
}

// referCall is a phone's call to parkd, answered and ACKed, with parkd's side.
func referCall(t *testing.T, ctx context.Context, ep *Endpoint, h *referHandler, transport string) (*siptest.Call, *Call) {
	t.Helper()
	var opts []siptest.Option
	if transport == "tcp" {
		opts = append(opts, siptest.WithTCP())
	}
	phone := siptest.NewPhone(t, "alice", append(opts, siptest.WithDisplay("Alice"))...)
	call, err := phone.Dial(ctx, epURI(ep, transport, "answer"), siptest.CallOptions{})
	if err != nil || call.Status() != 200 {
		t.Fatalf("call not answered: %v (status %d)", err, call.Status())
	}
	var c *Call
	select {
	case c = <-h.calls:
	case <-ctx.Done():
		t.Fatal("parkd never answered")
	}
	select {
	case <-c.Confirmed():
	case <-ctx.Done():
		t.Fatal("the ACK never reached parkd")
	}
	return call, c
}

func nextRefer(t *testing.T, ctx context.Context, h *referHandler) *Refer {
	t.Helper()
	select {
	case r := <-h.refers:
		return r
	case <-ctx.Done():
		t.Fatal("the handler never got the REFER")
	}
	return nil
}

func nextReferNotify(t *testing.T, ctx context.Context, call *siptest.Call) *siptest.ReferNotify {
	t.Helper()
	n, err := call.NextReferNotify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func header(m interface{ GetHeader(string) sip.Header }, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// checkReferNotify checks one NOTIFY of a REFER's subscription as the
// referrer's phone sees it: sipfrag body, state, and the call's dialog.
func checkReferNotify(t *testing.T, n *siptest.ReferNotify, call *siptest.Call, status int, body, state string) {
	t.Helper()
	req := n.Request
	if n.Status != status || string(req.Body()) != body {
		t.Errorf("NOTIFY body %q (status %d), want %q", req.Body(), n.Status, body)
	}
	if got := header(req, "Subscription-State"); got != state {
		t.Errorf("Subscription-State %q, want %q", got, state)
	}
	if got := header(req, "Content-Type"); !strings.HasPrefix(got, "message/sipfrag") {
		t.Errorf("Content-Type %q, want message/sipfrag", got)
	}
	if got := header(req, "Event"); !strings.HasPrefix(got, "refer") {
		t.Errorf("Event %q, want refer", got)
	}
	if req.CallID().Value() != call.CallID() {
		t.Errorf("NOTIFY Call-ID %q, not the call's %q", req.CallID().Value(), call.CallID())
	}
	if tag, _ := req.To().Params.Get("tag"); tag != call.LocalTag() {
		t.Errorf("NOTIFY To tag %q, not the phone's %q", tag, call.LocalTag())
	}
	if tag, _ := req.From().Params.Get("tag"); tag != call.RemoteTag() {
		t.Errorf("NOTIFY From tag %q, not parkd's %q", tag, call.RemoteTag())
	}
}

func TestReferAcceptedSendsSipfragNotifies(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			ctx := testCtx(t)
			h := newReferHandler()
			ep := newReferEndpoint(t, h)
			call, _ := referCall(t, ctx, ep, h, transport)

			res, err := call.Refer(ctx, "<sip:701@127.0.0.1:5060>", [2]string{"Referred-By", `"Bob" <sip:bob@127.0.0.1>`})
			if err != nil || res.StatusCode != 202 {
				t.Fatalf("REFER: %v %v, want 202", res, err)
			}
			r := nextRefer(t, ctx, h)
			if r.Target != "sip:701@127.0.0.1:5060" || r.User != "701" || r.Replaces != nil {
				t.Errorf("Refer target %q user %q replaces %v", r.Target, r.User, r.Replaces)
			}
			if r.ReferredBy == nil || r.ReferredBy.URI != "sip:bob@127.0.0.1" || r.ReferredBy.Display != "Bob" {
				t.Errorf("ReferredBy %+v, want Bob <sip:bob@127.0.0.1>", r.ReferredBy)
			}
			first := nextReferNotify(t, ctx, call)
			checkReferNotify(t, first, call, 100, "SIP/2.0 100 Trying\r\n", "active;expires=60")
			final := nextReferNotify(t, ctx, call)
			checkReferNotify(t, final, call, 200, "SIP/2.0 200 OK\r\n", "terminated;reason=noresource")
			if first.Request.CSeq().SeqNo >= final.Request.CSeq().SeqNo {
				t.Errorf("NOTIFY CSeqs %d then %d: not increasing", first.Request.CSeq().SeqNo, final.Request.CSeq().SeqNo)
			}
		})
	}
}

func TestReferAttendedCarriesReplaces(t *testing.T) {
	ctx := testCtx(t)
	h := newReferHandler()
	ep := newReferEndpoint(t, h)
	call, c := referCall(t, ctx, ep, h, "udp")

	referTo := siptest.ReferTo("sip:702@127.0.0.1", "abc@host", "to1", "from1")
	if res, err := call.Refer(ctx, `"Carol" `+referTo+`;x=y`); err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER %s: %v %v, want 202", referTo, res, err)
	}
	r := nextRefer(t, ctx, h)
	want := Replaces{CallID: "abc@host", ToTag: "to1", FromTag: "from1"}
	if r.Replaces == nil || *r.Replaces != want || r.Target != "sip:702@127.0.0.1" {
		t.Errorf("Refer %q Replaces %+v, want %+v", r.Target, r.Replaces, want)
	}
	if r.ReferredBy == nil || r.ReferredBy.URI != c.Remote.URI {
		t.Errorf("ReferredBy %+v without a Referred-By header, want the referrer %s", r.ReferredBy, c.Remote.URI)
	}
	if r.Call != c {
		t.Error("Refer.Call is not the referrer's call")
	}
	nextReferNotify(t, ctx, call)
	checkReferNotify(t, nextReferNotify(t, ctx, call), call, 200, "SIP/2.0 200 OK\r\n", "terminated;reason=noresource")
}

func TestReferRefusals(t *testing.T) {
	ctx := testCtx(t)
	h := newReferHandler()
	ep := newReferEndpoint(t, h)
	call, _ := referCall(t, ctx, ep, h, "udp")
	for _, tc := range []struct {
		name    string
		referTo string
		extra   [][2]string
		code    int
		warning string
	}{
		{"no Refer-To", "", nil, 400, "REFER without Refer-To"},
		{"two Refer-To headers", "<sip:701@127.0.0.1>", [][2]string{{"Refer-To", "<sip:702@127.0.0.1>"}}, 400, "several Refer-To values"},
		{"two values in one header", "<sip:701@127.0.0.1>, <sip:702@127.0.0.1>", nil, 400, "several Refer-To values"},
		{"compact form beside the full one", "<sip:701@127.0.0.1>", [][2]string{{"r", "<sip:702@127.0.0.1>"}}, 400, "several Refer-To values"},
		{"tel URI", "<tel:+15551234>", nil, 400, "not a sip: or sips: URI"},
		{"http URI", "<http://example.com/>", nil, 400, "not a sip: or sips: URI"},
		{"broken escaping in Replaces", "<sip:701@127.0.0.1?Replaces=abc%ZZ%3Bto-tag%3D1%3Bfrom-tag%3D2>", nil, 400, "not properly escaped"},
		{"Replaces without from-tag", "<sip:701@127.0.0.1?Replaces=abc%3Bto-tag%3D1>", nil, 400, "needs a call-id, to-tag and from-tag"},
		{"Replaces with a line break", "<sip:701@127.0.0.1?Replaces=abc%0D%0AX%3A1%3Bto-tag%3D1%3Bfrom-tag%3D2>", nil, 400, "control characters"},
	} {
		res, err := call.Refer(ctx, tc.referTo, tc.extra...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if res.StatusCode != tc.code || !strings.Contains(header(res, "Warning"), tc.warning) {
			t.Errorf("%s: %d, Warning %q; want %d with %q", tc.name, res.StatusCode, header(res, "Warning"), tc.code, tc.warning)
		}
	}
	select {
	case r := <-h.refers:
		t.Errorf("the handler got a refused REFER to %q", r.Target)
	default:
	}
	// Nothing refused left a transfer pending.
	if res, err := call.Refer(ctx, "<sip:701@127.0.0.1>"); err != nil || res.StatusCode != 202 {
		t.Fatalf("a good REFER after the refusals: %v %v, want 202", res, err)
	}
}

func TestReferWhileOnePendsGets491(t *testing.T) {
	ctx := testCtx(t)
	h := newReferHandler()
	proceed := make(chan struct{})
	h.script = func(ctx context.Context, r *Refer) {
		r.Accept()
		if r.User == "701" {
			<-proceed
		}
		r.Finish(ctx, 486, "Busy Here")
	}
	ep := newReferEndpoint(t, h)
	call, _ := referCall(t, ctx, ep, h, "udp")

	if res, err := call.Refer(ctx, "<sip:701@127.0.0.1>"); err != nil || res.StatusCode != 202 {
		t.Fatalf("first REFER: %v %v, want 202", res, err)
	}
	res, err := call.Refer(ctx, "<sip:702@127.0.0.1>")
	if err != nil || res.StatusCode != 491 || !strings.Contains(header(res, "Warning"), "already in progress") {
		t.Fatalf("second REFER while the first pends: %v %v, want 491 with a Warning", res, err)
	}
	close(proceed)
	checkReferNotify(t, nextReferNotify(t, ctx, call), call, 100, "SIP/2.0 100 Trying\r\n", "active;expires=60")
	checkReferNotify(t, nextReferNotify(t, ctx, call), call, 486, "SIP/2.0 486 Busy Here\r\n", "terminated;reason=noresource")

	// Finished: the call takes a new REFER, whose NOTIFYs name it by CSeq.
	res, err = call.Refer(ctx, "<sip:703@127.0.0.1>")
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER after the first finished: %v %v, want 202", res, err)
	}
	n := nextReferNotify(t, ctx, call)
	if want := fmt.Sprintf("refer;id=%d", res.CSeq().SeqNo); header(n.Request, "Event") != want {
		t.Errorf("Event %q of a later REFER's NOTIFY, want %q", header(n.Request, "Event"), want)
	}
}

func TestReferBeforeAckGets491(t *testing.T) {
	ctx := testCtx(t)
	h := newReferHandler()
	ep := newReferEndpoint(t, h)
	phone := siptest.NewPhone(t, "alice")
	call, err := phone.Dial(ctx, epURI(ep, "udp", "answer"), siptest.CallOptions{NoAck: true})
	if err != nil || call.Status() != 200 {
		t.Fatalf("call: %v", err)
	}
	c := receive(t, h.calls, "the answered call")
	res, err := call.Refer(ctx, "<sip:701@127.0.0.1>")
	if err != nil || res.StatusCode != 491 || !strings.Contains(header(res, "Warning"), "not confirmed") {
		t.Fatalf("REFER before the ACK: %v %v, want 491", res, err)
	}
	call.SendAck()
	receive(t, c.Confirmed(), "the ACK")
	if res, err := call.Refer(ctx, "<sip:701@127.0.0.1>"); err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER after the ACK: %v %v, want 202", res, err)
	}
}

func TestReferAfterHangupGets481(t *testing.T) {
	ctx := testCtx(t)
	h := newReferHandler()
	ep := newReferEndpoint(t, h)
	call, c := referCall(t, ctx, ep, h, "udp")
	if res, err := call.Hangup(ctx); err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE: %v %v", res, err)
	}
	receive(t, c.Done(), "the call to end")
	if res, err := call.Refer(ctx, "<sip:701@127.0.0.1>"); err != nil || res.StatusCode != 481 {
		t.Fatalf("REFER after BYE: %v %v, want 481", res, err)
	}
}

func TestReferWithoutReferHandlerIsDeclined(t *testing.T) {
	ctx := testCtx(t)
	phone := siptest.NewPhone(t, "alice") // closed after the endpoint: it answers the BYE of Shutdown
	ep, _ := newStatsEndpoint(t)
	call, err := phone.Dial(ctx, "sip:answer@"+ep.Addrs()[0].Addr, siptest.CallOptions{})
	if err != nil || call.Status() != 200 {
		t.Fatalf("call: %v", err)
	}
	if strings.Contains(call.Header("Allow"), "REFER") {
		t.Errorf("Allow %q offers REFER with a handler that does not follow it", call.Header("Allow"))
	}
	res, err := call.Refer(ctx, "<sip:701@127.0.0.1>")
	if err != nil || res.StatusCode != 603 {
		t.Fatalf("REFER: %v %v, want 603", res, err)
	}
}

func TestReferAllowHeader(t *testing.T) {
	ctx := testCtx(t)
	h := newReferHandler()
	ep := newReferEndpoint(t, h)
	call, _ := referCall(t, ctx, ep, h, "udp")
	if !strings.Contains(call.Header("Allow"), "REFER") {
		t.Errorf("Allow %q does not offer REFER", call.Header("Allow"))
	}
}

func TestReferUnansweredByHandlerGets500(t *testing.T) {
	ctx := testCtx(t)
	h := newReferHandler()
	h.script = func(ctx context.Context, r *Refer) {
		if r.User == "701" {
			return // unanswered
		}
		r.Accept()
		r.Finish(ctx, 200, "OK")
	}
	ep := newReferEndpoint(t, h)
	call, _ := referCall(t, ctx, ep, h, "udp")
	if res, err := call.Refer(ctx, "<sip:701@127.0.0.1>"); err != nil || res.StatusCode != 500 {
		t.Fatalf("REFER the handler ignored: %v %v, want 500", res, err)
	}
	// The call is free again.
	if res, err := call.Refer(ctx, "<sip:702@127.0.0.1>"); err != nil || res.StatusCode != 202 {
		t.Fatalf("next REFER: %v %v, want 202", res, err)
	}
}

func TestReferRejectCarriesWarning(t *testing.T) {
	ctx := testCtx(t)
	h := newReferHandler()
	h.script = func(_ context.Context, r *Refer) { r.Reject(403, "Forbidden", "no transfers to 9xx") }
	ep := newReferEndpoint(t, h)
	call, _ := referCall(t, ctx, ep, h, "udp")
	res, err := call.Refer(ctx, "<sip:901@127.0.0.1>")
	if err != nil || res.StatusCode != 403 || !strings.Contains(header(res, "Warning"), "no transfers to 9xx") {
		t.Fatalf("rejected REFER: %v %v, want 403 with the Warning", res, err)
	}
	if call.ReferNotifies() != 0 {
		t.Error("a rejected REFER brought a NOTIFY")
	}
}

func TestReferNoReferSub(t *testing.T) {
	ctx := testCtx(t)
	h := newReferHandler()
	finished := make(chan error, 1)
	h.script = func(ctx context.Context, r *Refer) {
		r.Accept()
		finished <- r.Finish(ctx, 200, "OK")
	}
	ep := newReferEndpoint(t, h)
	call, _ := referCall(t, ctx, ep, h, "udp")
	res, err := call.Refer(ctx, "<sip:701@127.0.0.1>", [2]string{"Refer-Sub", "false"}, [2]string{"Supported", "norefersub"})
	if err != nil || res.StatusCode != 200 || header(res, "Refer-Sub") != "false" {
		t.Fatalf("REFER with Refer-Sub: false: %v %v, want 200 with Refer-Sub: false", res, err)
	}
	if err := <-finished; err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if n := call.ReferNotifies(); n != 0 {
		t.Errorf("%d NOTIFYs for a REFER without subscription", n)
	}
}

// The leg parkd placed (a recall, a transfer) may REFER too: the NOTIFYs
// follow its dialog as parkd is its UAC.
func TestReferFromOriginatedLeg(t *testing.T) {
	ctx := testCtx(t)
	h := newReferHandler()
	ep := newReferEndpoint(t, h)
	phone := siptest.NewPhone(t, "bob")
	placed := make(chan *Call, 1)
	go func() {
		c, err := ep.Originate(ctx, Originate{Targets: []string{phone.URI()}, From: Party{URI: "sip:parkd@127.0.0.1"}})
		if err != nil {
			t.Errorf("Originate: %v", err)
		}
		placed <- c
	}()
	in, err := phone.Incoming(ctx)
	if err != nil {
		t.Fatal(err)
	}
	call, err := in.Answer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := <-placed; c == nil {
		t.FailNow()
	}
	if res, err := call.Refer(ctx, "<sip:701@127.0.0.1>"); err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER from the called phone: %v %v, want 202", res, err)
	}
	checkReferNotify(t, nextReferNotify(t, ctx, call), call, 100, "SIP/2.0 100 Trying\r\n", "active;expires=60")
	checkReferNotify(t, nextReferNotify(t, ctx, call), call, 200, "SIP/2.0 200 OK\r\n", "terminated;reason=noresource")
}

func TestReferOutsideACallIsDeclined(t *testing.T) {
	ctx := testCtx(t)
	ep := newReferEndpoint(t, newReferHandler())
	addr := ep.Addrs()[0].Addr
	p := newRawPeer(t, "127.0.0.1")
	p.send(addr, "",
		"REFER sip:parkd@"+addr+" SIP/2.0",
		p.via("refer1"),
		"From: <sip:alice@"+p.addr.String()+">;tag=a1",
		"To: <sip:parkd@"+addr+">",
		"Call-ID: refer-outside@test",
		"CSeq: 1 REFER",
		"Contact: <sip:alice@"+p.addr.String()+">",
		"Refer-To: <sip:701@127.0.0.1>",
		"Max-Forwards: 70")
	p.response(ctx, 603, sip.REFER)

	// In a dialog parkd does not know: 481.
	p.send(addr, "",
		"REFER sip:parkd@"+addr+" SIP/2.0",
		p.via("refer2"),
		"From: <sip:alice@"+p.addr.String()+">;tag=a1",
		"To: <sip:parkd@"+addr+">;tag=nosuchdialog",
		"Call-ID: refer-outside@test",
		"CSeq: 2 REFER",
		"Contact: <sip:alice@"+p.addr.String()+">",
		"Refer-To: <sip:701@127.0.0.1>",
		"Max-Forwards: 70")
	p.response(ctx, 481, sip.REFER)
}

// A REFER goes through the dialog's CSeq check like any other request.
func TestReferWithStaleCSeqIsRefused(t *testing.T) {
	ctx := testCtx(t)
	h := newReferHandler()
	ep := newReferEndpoint(t, h)
	addr := ep.Addrs()[0].Addr
	p := newRawPeer(t, "127.0.0.1")
	from := "From: <sip:x@" + p.addr.String() + ">;tag=stale"
	p.send(addr, testSDP, "INVITE sip:answer@"+addr+" SIP/2.0", p.via("inv"), from,
		"To: <sip:answer@"+addr+">", "Call-ID: stale-refer", "CSeq: 5 INVITE", "Contact: <sip:x@"+p.addr.String()+">",
		"Content-Type: application/sdp")
	ok := awaitFinal(t, p, "stale-refer")
	if ok.StatusCode != 200 {
		t.Fatalf("INVITE: %d", ok.StatusCode)
	}
	to := "To: " + ok.To().Value()
	p.send(addr, "", "ACK sip:parkd@"+addr+" SIP/2.0", p.via("ack"), from, to, "Call-ID: stale-refer", "CSeq: 5 ACK")
	c := receive(t, h.calls, "the answered call")
	receive(t, c.Confirmed(), "the ACK")
	refer := func(branch string, cseq int) {
		p.send(addr, "", "REFER sip:parkd@"+addr+" SIP/2.0", p.via(branch), from, to, "Call-ID: stale-refer",
			fmt.Sprintf("CSeq: %d REFER", cseq), "Contact: <sip:x@"+p.addr.String()+">", "Refer-To: <sip:701@127.0.0.1>")
	}
	refer("r1", 4)
	p.response(ctx, 500, sip.REFER)
	refer("r2", 6)
	p.response(ctx, 202, sip.REFER)
	select {
	case r := <-h.refers:
		if r.User != "701" {
			t.Errorf("the handler got %q", r.User)
		}
	case <-ctx.Done():
		t.Fatal("the handler never got the fresh REFER")
	}
	if len(h.refers) != 0 {
		t.Error("the handler got the stale REFER too")
	}
}
