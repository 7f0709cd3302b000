package sipcore

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore/media"
	"github.com/parkd/parkd/sipcore/presence"
	"github.com/parkd/parkd/sipcore/siptest"
)

// statsHandler is a minimal Handler: extension 404 is rejected, "ring"
// waits for CANCEL, anything else is answered; only slot 701 exists.
type statsHandler struct {
	ringing chan struct{}
}

func (h *statsHandler) HandleInvite(ctx context.Context, inv *Invite) {
	switch inv.Target {
	case "404":
		inv.Reject(404, "Not Found", "no such extension")
	case "ring":
		inv.Ring()
		h.ringing <- struct{}{}
		<-inv.Canceled()
		inv.Reject(487, "Request Terminated", "") // too late: sipgo has answered
	default:
		inv.Answer()
	}
}

func (h *statsHandler) CallEnded(*Call, EndReason) {}

func (h *statsHandler) ResolveSubscription(req *SubscribeRequest) (string, bool) {
	return "slot:" + req.Target, req.Target == "701"
}

func (h *statsHandler) SubscriptionsChanged(string) {}

func newStatsEndpoint(t *testing.T) (*Endpoint, *statsHandler) {
	t.Helper()
	rtp, err := media.NewAllocator(netip.MustParseAddr("127.0.0.1"), 41000, 41998)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rtp.Close) // its kept sockets hold ports other tests use
	h := &statsHandler{ringing: make(chan struct{}, 1)}
	ep, err := NewEndpoint(Config{
		Listen: []ListenAddr{{"udp", "127.0.0.1:0"}},
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
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		ep.Shutdown(ctx)
	})
	return ep, h
}

func requestCounts(st EndpointStats) map[string]uint64 {
	m := map[string]uint64{}
	for _, r := range st.Requests {
		m[r.Method] = r.Count
	}
	return m
}

func responseCounts(st EndpointStats) map[string]uint64 {
	m := map[string]uint64{}
	for _, r := range st.Responses {
		m[fmt.Sprintf("%s %d", r.Method, r.Code)] = r.Count
	}
	return m
}

// eventually polls cond for up to 3 s: NOTIFY answers and ACKs arrive on
// their own goroutines.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEndpointStats(t *testing.T) {
	ep, h := newStatsEndpoint(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr := ep.Addrs()[0].Addr
	uri := func(user string) string { return "sip:" + user + "@" + addr }
	ep.Publish("slot:701", EventDialog, presence.DialogInfoBody("sip:701@"+addr, nil))
	phone := siptest.NewPhone(t, "alice")

	// OPTIONS: 200.
	if res, err := phone.Options(ctx, uri("701")); err != nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS: %v %v", res, err)
	}
	// INVITE rejected with 404 (its ACK stays inside sipgo's transaction).
	if c, err := phone.Dial(ctx, uri("404"), siptest.CallOptions{}); err != nil || c.Status() != 404 {
		t.Fatalf("INVITE 404: %v", err)
	}
	// INVITE answered, ACKed, then INFO, an in-dialog MESSAGE (405), an
	// unknown method (other, 405), a CANCEL matching no INVITE transaction
	// (it reaches the handler: 481), and BYE.
	call, err := phone.Dial(ctx, uri("answer"), siptest.CallOptions{})
	if err != nil || call.Status() != 200 {
		t.Fatalf("INVITE answered: %v", err)
	}
	eventually(t, "the ACK", func() bool { return requestCounts(ep.Stats())["ACK"] == 1 })
	if st := ep.Stats(); st.Calls != 1 {
		t.Errorf("Calls = %d during the call, want 1", st.Calls)
	}
	for _, m := range []struct {
		method sip.RequestMethod
		code   int
	}{{sip.INFO, 200}, {sip.MESSAGE, 405}, {"FROB", 405}, {sip.CANCEL, 481}} {
		if res, err := call.Request(ctx, m.method, "", nil); err != nil || res.StatusCode != m.code {
			t.Fatalf("%s: %v %v, want %d", m.method, res, err, m.code)
		}
	}
	if res, err := call.Hangup(ctx); err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE: %v %v", res, err)
	}
	// INVITE canceled while ringing: sipgo answers the CANCEL 200 and the
	// INVITE 487 without a handler.
	ringing, err := phone.Start(ctx, uri("ring"), siptest.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	receive(t, h.ringing, "the INVITE ringing")
	if res, err := ringing.Cancel(ctx); err != nil || res.StatusCode != 200 {
		t.Fatalf("CANCEL: %v %v", res, err)
	}
	if res, err := ringing.Wait(ctx); err != nil || res.StatusCode != 487 {
		t.Fatalf("canceled INVITE: %v %v", res, err)
	}
	// SUBSCRIBE to an unknown slot (404) and to 701 (200 and a NOTIFY).
	if s, err := phone.Subscribe(ctx, uri("999"), siptest.SubscribeOptions{Expires: 600}); err != nil || s.Status() != 404 {
		t.Fatalf("SUBSCRIBE 999: %v", err)
	}
	sub, err := phone.Subscribe(ctx, uri("701"), siptest.SubscribeOptions{Expires: 600})
	if err != nil || sub.Status() != 200 {
		t.Fatalf("SUBSCRIBE 701: %v", err)
	}
	if _, err := sub.Next(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first NOTIFY's answer", func() bool { return ep.Stats().NotifiesSent == 1 })
	if st := ep.Stats(); st.Subscriptions != 1 || st.NotifiesFailed != 0 {
		t.Fatalf("after SUBSCRIBE: %d subscriptions, %d NOTIFYs failed; want 1, 0", st.Subscriptions, st.NotifiesFailed)
	}
	// The phone refuses the next NOTIFY: failed, and the subscription goes.
	sub.AnswerNotifies(481)
	ep.Publish("slot:701", EventDialog, presence.DialogInfoBody("sip:701@"+addr, []presence.Dialog{{ID: "x", State: "confirmed"}}))
	eventually(t, "the refused NOTIFY", func() bool { return ep.Stats().NotifiesFailed == 1 })

	st := ep.Stats()
	if st.NotifiesSent != 2 || st.Subscriptions != 0 || st.Calls != 0 {
		t.Errorf("NotifiesSent %d, Subscriptions %d, Calls %d; want 2, 0, 0", st.NotifiesSent, st.Subscriptions, st.Calls)
	}
	wantReq := map[string]uint64{
		"OPTIONS": 1, "INVITE": 3, "ACK": 1, "INFO": 1, "MESSAGE": 1, "other": 1,
		"BYE": 1, "CANCEL": 2, "SUBSCRIBE": 2,
	}
	if got := requestCounts(st); fmt.Sprint(got) != fmt.Sprint(wantReq) {
		t.Errorf("requests:\n got %v\nwant %v", got, wantReq)
	}
	wantRes := map[string]uint64{
		"OPTIONS 200": 1, "INVITE 404": 1, "INVITE 200": 1, "INVITE 487": 1,
		"INFO 200": 1, "MESSAGE 405": 1, "other 405": 1, "BYE 200": 1,
		"CANCEL 200": 1, "CANCEL 481": 1, "SUBSCRIBE 404": 1, "SUBSCRIBE 200": 1,
	}
	if got := responseCounts(st); fmt.Sprint(got) != fmt.Sprint(wantRes) {
		t.Errorf("responses:\n got %v\nwant %v", got, wantRes)
	}
	// Listed in a fixed order: methods as in statMethods, codes ascending.
	for i := 1; i < len(st.Responses); i++ {
		a, b := st.Responses[i-1], st.Responses[i]
		if methodIndex(sip.RequestMethod(a.Method)) > methodIndex(sip.RequestMethod(b.Method)) ||
			(a.Method == b.Method && a.Code >= b.Code) {
			t.Errorf("responses out of order: %v before %v", a, b)
		}
	}
}

func TestNotifyTimeoutCountsAsFailed(t *testing.T) {
	ep, _ := newStatsEndpoint(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr := ep.Addrs()[0].Addr
	ep.Publish("slot:701", EventDialog, presence.DialogInfoBody("sip:701@"+addr, nil))
	phone := siptest.NewPhone(t, "bob")
	sub, err := phone.Subscribe(ctx, "sip:701@"+addr, siptest.SubscribeOptions{Expires: 600})
	if err != nil || sub.Status() != 200 {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	if _, err := sub.Next(ctx); err != nil {
		t.Fatal(err)
	}
	sub.AnswerNotifies(0) // silence: the NOTIFY times out
	ep.Publish("slot:701", EventDialog, presence.DialogInfoBody("sip:701@"+addr, []presence.Dialog{{ID: "y", State: "confirmed"}}))
	deadline := time.Now().Add(5 * time.Second)
	for ep.Stats().NotifiesFailed == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := ep.Stats(); st.NotifiesSent != 2 || st.NotifiesFailed != 1 || st.Subscriptions != 0 {
		t.Fatalf("NotifiesSent %d, NotifiesFailed %d, Subscriptions %d; want 2, 1, 0", st.NotifiesSent, st.NotifiesFailed, st.Subscriptions)
	}
}

func TestStatIndexes(t *testing.T) {
	for i, m := range statMethods {
		if methodIndex(m) != i || methodName(i) != string(m) {
			t.Errorf("%s: index %d, name %q", m, methodIndex(m), methodName(i))
		}
	}
	for _, m := range []sip.RequestMethod{"invite", "FROB", "", "INVITEX"} {
		if methodIndex(m) != methodOther {
			t.Errorf("%q is not other", m)
		}
	}
	if methodName(methodOther) != MethodOther {
		t.Error("other has no name")
	}
	for code, want := range map[int]int{100: 100, 200: 200, 487: 487, 699: 699, 99: 0, 700: 0, 0: 0, -1: 0, 1000: 0} {
		if got := indexCode(codeIndex(code)); got != want {
			t.Errorf("code %d counted as %d, want %d", code, got, want)
		}
	}
	var st sipStats
	st.response(sip.INVITE, 999)
	if st.responses[0][0].Load() != 1 {
		t.Error("code 999 not counted as INVITE 0")
	}
}

func TestCountingDoesNotAllocate(t *testing.T) {
	var st sipStats
	methods := []sip.RequestMethod{sip.INVITE, sip.SUBSCRIBE, "FROB"}
	n := testing.AllocsPerRun(100, func() {
		for _, m := range methods {
			st.request(m)
			st.response(m, 200)
		}
		st.canceled(nil)
	})
	if n != 0 {
		t.Errorf("%v allocations per count", n)
	}
}

// TestEveryResponseIsCounted keeps reply the one way out: a response sent
// with tx.Respond or WriteResponse elsewhere would not be counted.
func TestEveryResponseIsCounted(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		var fn string
		ast.Inspect(f, func(n ast.Node) bool {
			if d, ok := n.(*ast.FuncDecl); ok {
				fn = d.Name.Name
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch sel.Sel.Name {
			case "Respond", "WriteResponse":
				// tryingTx.Respond passes reply's responses through.
				passThrough := name == "trying.go" && fn == "Respond"
				if (name != "stats.go" || fn != "reply") && !passThrough {
					t.Errorf("%s: %s calls %s; send responses with Endpoint.reply or respond so they are counted",
						fset.Position(call.Pos()), fn, sel.Sel.Name)
				}
			}
			return true
		})
	}
}
