package siptest_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parkd/parkd/sipcore/siptest"
)

func header(m *sip.Request, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

func tag(params sip.HeaderParams) string { v, _ := params.Get("tag"); return v }

func next(t *testing.T, sub *siptest.Subscription) *siptest.Notify {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	n, err := sub.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func subscribe(t *testing.T, p *siptest.Phone, target string, opts siptest.SubscribeOptions) *siptest.Subscription {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	sub, err := p.Subscribe(ctx, target, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// checkNotify compares what Next parsed with what the notifier sent.
func checkNotify(t *testing.T, n *siptest.Notify, state string, expires int, reason string, cseq uint32) {
	t.Helper()
	if n.State != state || n.Expires != expires || n.Reason != reason || n.RetryAfter != -1 || n.CSeq != cseq {
		t.Errorf("NOTIFY: state %q expires %d reason %q retry-after %d CSeq %d; want %q %d %q -1 %d",
			n.State, n.Expires, n.Reason, n.RetryAfter, n.CSeq, state, expires, reason, cseq)
	}
	if n.Event != "dialog" || n.ContentType != "application/dialog-info+xml" || string(n.Body) != dialogInfo {
		t.Errorf("NOTIFY: Event %q, Content-Type %q, body %q", n.Event, n.ContentType, n.Body)
	}
	if n.Request == nil || n.Received.IsZero() {
		t.Errorf("NOTIFY: request %v received at %v", n.Request, n.Received)
	}
}

// TestSubscription runs a subscription's life: SUBSCRIBE, its NOTIFY
// (before or after the 200), a refresh and an unsubscribe, all in one
// dialog.
func TestSubscription(t *testing.T) {
	for _, tc := range []struct {
		transport   string
		notifyFirst bool
	}{
		{"udp", false},
		{"udp", true},
		{"tcp", false},
		{"tcp", true},
	} {
		t.Run(fmt.Sprintf("%s/notifyFirst=%v", tc.transport, tc.notifyFirst), func(t *testing.T) {
			t.Parallel()
			n := newNotifier(t, tc.transport, func(n *notifier) { n.notifyFirst = tc.notifyFirst })
			var opts []siptest.Option
			if tc.transport == "tcp" {
				opts = append(opts, siptest.WithTCP())
			}
			p := siptest.NewPhone(t, "100", append(opts, siptest.WithDisplay("Alice"))...)

			sub := subscribe(t, p, n.uri(), siptest.SubscribeOptions{Expires: 600})
			if sub.Status() != 200 || sub.Response() == nil || sub.Header("Expires") != "600" {
				t.Fatalf("SUBSCRIBE: status %d, Expires %q", sub.Status(), sub.Header("Expires"))
			}
			if tc.notifyFirst && sub.Pending() != 1 {
				// The notifier had the phone's 200 to its NOTIFY before it
				// answered the SUBSCRIBE.
				t.Errorf("Pending after an early NOTIFY = %d, want 1", sub.Pending())
			}
			if r := n.nextNotified(t); r.status != 200 || r.err != nil {
				t.Fatalf("initial NOTIFY answered %d, %v", r.status, r.err)
			}
			if sub.RemoteTag() != n.tag {
				t.Errorf("RemoteTag %q, want %q", sub.RemoteTag(), n.tag)
			}

			req := n.nextSubscribe(t)
			if got := tag(req.From().Params); got != sub.LocalTag() || got == "" {
				t.Errorf("SUBSCRIBE From tag %q, LocalTag %q", got, sub.LocalTag())
			}
			if req.From().DisplayName != "Alice" || req.From().Address.User != "100" {
				t.Errorf("SUBSCRIBE From %s", req.From().Value())
			}
			if req.To().Params.Has("tag") || req.To().Address.User != "701" {
				t.Errorf("SUBSCRIBE To %s", req.To().Value())
			}
			if req.CallID().Value() != sub.CallID() || req.CSeq().SeqNo != 1 || req.CSeq().MethodName != sip.SUBSCRIBE {
				t.Errorf("SUBSCRIBE Call-ID %s (want %s), CSeq %s", req.CallID().Value(), sub.CallID(), req.CSeq().Value())
			}
			for name, want := range map[string]string{
				"Event": "dialog", "Expires": "600", "Accept": "application/dialog-info+xml", "Max-Forwards": "70",
			} {
				if got := header(req, name); got != want {
					t.Errorf("SUBSCRIBE %s: %q, want %q", name, got, want)
				}
			}
			if c := req.Contact(); c == nil || c.Address.User != "100" {
				t.Errorf("SUBSCRIBE Contact %v", c)
			}

			checkNotify(t, next(t, sub), "active", 600, "", 1)
			if sub.Pending() != 0 {
				t.Errorf("Pending after Next = %d", sub.Pending())
			}

			// Refresh and unsubscribe: in the dialog, to the notifier's
			// Contact, along its Record-Route reversed.
			for i, expires := range []int{300, 0} {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				var res *sip.Response
				var err error
				if expires == 0 {
					res, err = sub.Unsubscribe(ctx)
				} else {
					res, err = sub.Refresh(ctx, expires)
				}
				cancel()
				if err != nil || res.StatusCode != 200 {
					t.Fatalf("refresh Expires %d: %v, %v", expires, res, err)
				}
				req := n.nextSubscribe(t)
				if req.Recipient.User != "notifier" {
					t.Errorf("refresh Request-URI %s, want the notifier's Contact", req.Recipient.String())
				}
				if tag(req.From().Params) != sub.LocalTag() || tag(req.To().Params) != n.tag {
					t.Errorf("refresh From %s To %s; tags want %s, %s", req.From().Value(), req.To().Value(), sub.LocalTag(), n.tag)
				}
				if req.CallID().Value() != sub.CallID() || req.CSeq().SeqNo != uint32(2+i) || req.CSeq().MethodName != sip.SUBSCRIBE {
					t.Errorf("refresh Call-ID %s CSeq %s, want CSeq %d", req.CallID().Value(), req.CSeq().Value(), 2+i)
				}
				if got := header(req, "Expires"); got != strconv.Itoa(expires) {
					t.Errorf("refresh Expires %q, want %d", got, expires)
				}
				var routes []string
				for _, h := range req.GetHeaders("Route") {
					routes = append(routes, h.Value())
				}
				if len(routes) != 2 || !strings.Contains(routes[0], "hop=2") || !strings.Contains(routes[1], "hop=1") {
					t.Errorf("refresh Route %q, want hop=2 then hop=1", routes)
				}
				if r := n.nextNotified(t); r.status != 200 {
					t.Fatalf("NOTIFY after refresh answered %d, %v", r.status, r.err)
				}
				if expires == 0 {
					checkNotify(t, next(t, sub), "terminated", -1, "timeout", uint32(2+i))
				} else {
					checkNotify(t, next(t, sub), "active", expires, "", uint32(2+i))
				}
			}
		})
	}
}

// TestSubscribeOptions checks the headers SubscribeOptions put on the
// initial SUBSCRIBE.
func TestSubscribeOptions(t *testing.T) {
	n := newNotifier(t, "udp")
	p := siptest.NewPhone(t, "100")
	for _, tc := range []struct {
		name string
		opts siptest.SubscribeOptions
		want map[string]string // "" for a header that must be absent
	}{
		{"zero is a dialog fetch", siptest.SubscribeOptions{},
			map[string]string{"Event": "dialog", "Expires": "0", "Accept": "application/dialog-info+xml"}},
		{"presence without Expires", siptest.SubscribeOptions{Event: "presence", Expires: siptest.NoExpires},
			map[string]string{"Event": "presence", "Expires": "", "Accept": "application/pidf+xml"}},
		{"dialog with id", siptest.SubscribeOptions{Event: "dialog;id=7", Expires: 60},
			map[string]string{"Event": "dialog;id=7", "Expires": "60", "Accept": "application/dialog-info+xml"}},
		{"no default Accept", siptest.SubscribeOptions{Event: "message-summary", Expires: 60},
			map[string]string{"Event": "message-summary", "Accept": ""}},
		{"Accept left out", siptest.SubscribeOptions{Accept: "-", Expires: 60},
			map[string]string{"Event": "dialog", "Accept": ""}},
		{"own Accept and headers", siptest.SubscribeOptions{Accept: "application/xml", Expires: 60, Headers: [][2]string{{"X-Test", "yes"}}},
			map[string]string{"Accept": "application/xml", "X-Test": "yes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := subscribe(t, p, n.uri(), tc.opts)
			if sub.Status() != 200 {
				t.Fatalf("SUBSCRIBE answered %d", sub.Status())
			}
			req := n.nextSubscribe(t)
			for name, want := range tc.want {
				if got := header(req, name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			n.nextNotified(t)
		})
	}
}

// TestSubscribeRejected: a non-2xx to SUBSCRIBE is a status, not an error,
// and leaves nothing to refresh.
func TestSubscribeRejected(t *testing.T) {
	for _, status := range []int{403, 404, 489} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			n := newNotifier(t, "udp", func(n *notifier) { n.status = status })
			p := siptest.NewPhone(t, "100")
			sub := subscribe(t, p, n.uri(), siptest.SubscribeOptions{Event: "bogus", Expires: 60})
			if sub.Status() != status || sub.Response() == nil || sub.Response().StatusCode != status {
				t.Fatalf("Status %d, want %d", sub.Status(), status)
			}
			if sub.RemoteTag() != "" {
				t.Errorf("RemoteTag %q after %d", sub.RemoteTag(), status)
			}
			if _, err := sub.Refresh(t.Context(), 60); err == nil {
				t.Error("Refresh of a rejected subscription did not fail")
			}
		})
	}
}

// TestAnswerNotifies: the phone answers NOTIFYs as told, queues them all
// the same, and refuses those of subscriptions it does not have.
func TestAnswerNotifies(t *testing.T) {
	for _, tc := range []struct {
		name      string
		transport string
		answer    int  // AnswerNotifies; -1: Forget instead
		wait      bool // the notifier gives up after a while
		want      int  // status the notifier sees; 0: none
		queued    bool
	}{
		{"481", "udp", 481, false, 481, true},
		{"500", "tcp", 500, false, 500, true},
		{"202", "udp", 202, false, 202, true},
		{"silent/udp", "udp", 0, true, 0, true},
		{"silent/tcp", "tcp", 0, true, 0, true},
		{"forget/udp", "udp", -1, false, 481, false},
		{"forget/tcp", "tcp", -1, false, 481, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNotifier(t, tc.transport)
			var opts []siptest.Option
			if tc.transport == "tcp" {
				opts = append(opts, siptest.WithTCP())
			}
			p := siptest.NewPhone(t, "100", opts...)
			sub := subscribe(t, p, n.uri(), siptest.SubscribeOptions{Expires: 600})
			if r := n.nextNotified(t); r.status != 200 {
				t.Fatalf("initial NOTIFY answered %d, %v", r.status, r.err)
			}
			if tc.answer < 0 {
				sub.Forget()
			} else {
				sub.AnswerNotifies(tc.answer)
			}

			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			if tc.wait {
				// Long enough for UDP retransmissions (T1 = 500 ms), which
				// the phone must queue only once.
				cancel()
				ctx, cancel = context.WithTimeout(t.Context(), 1700*time.Millisecond)
			}
			r := n.send(ctx, sub.CallID(), "active;expires=500", dialogInfo)
			cancel()
			switch {
			case tc.want == 0 && !errors.Is(r.err, context.DeadlineExceeded):
				t.Errorf("unanswered NOTIFY: status %d, error %v; want no response", r.status, r.err)
			case tc.want != 0 && (r.err != nil || r.status != tc.want):
				t.Errorf("NOTIFY answered %d, %v; want %d", r.status, r.err, tc.want)
			}

			// The initial NOTIFY stays queued even after Forget.
			checkNotify(t, next(t, sub), "active", 600, "", 1)
			if tc.queued {
				checkNotify(t, next(t, sub), "active", 500, "", 2)
			}
			if sub.Pending() != 0 {
				t.Errorf("Pending %d after reading every NOTIFY", sub.Pending())
			}

			if tc.answer >= 0 {
				// Back to normal.
				sub.AnswerNotifies(200)
				if r := n.notify(t, sub.CallID(), "active;expires=400"); r.status != 200 {
					t.Errorf("NOTIFY after AnswerNotifies(200): %d, %v", r.status, r.err)
				}
				checkNotify(t, next(t, sub), "active", 400, "", 3)
			}
		})
	}
}

// TestNotifyUnknown: a NOTIFY for no subscription of the phone is 481.
func TestNotifyUnknown(t *testing.T) {
	n := newNotifier(t, "udp")
	p := siptest.NewPhone(t, "100")
	sub := subscribe(t, p, n.uri(), siptest.SubscribeOptions{Expires: 600})
	n.nextNotified(t)
	orig := n.nextSubscribe(t)

	// NOTIFYs as if for the phone's SUBSCRIBE with another Call-ID or
	// another From tag.
	for _, tc := range []struct {
		name string
		edit func(*sip.Request)
	}{
		{"Call-ID", func(r *sip.Request) {
			cid := sip.CallIDHeader("unknown@test")
			r.ReplaceHeader(&cid)
		}},
		{"tag", func(r *sip.Request) {
			from := sip.HeaderClone(r.From()).(*sip.FromHeader)
			from.Params.Add("tag", "not-ours")
			r.ReplaceHeader(from)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := orig.Clone()
			tc.edit(fake)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			if r := n.sendFor(ctx, fake, 10, "active", dialogInfo); r.status != 481 {
				t.Errorf("NOTIFY with a wrong %s answered %d, %v; want 481", tc.name, r.status, r.err)
			}
		})
	}
	if sub.Pending() != 1 {
		t.Errorf("Pending %d, want only the initial NOTIFY", sub.Pending())
	}
}

// TestNextClosed: closing the phone ends a waiting Next at once.
func TestNextClosed(t *testing.T) {
	n := newNotifier(t, "udp")
	p := siptest.NewPhone(t, "100")
	sub := subscribe(t, p, n.uri(), siptest.SubscribeOptions{Expires: 600})
	n.nextNotified(t)
	next(t, sub)

	errc := make(chan error, 1)
	go func() {
		_, err := sub.Next(t.Context())
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	p.Close()
	select {
	case err := <-errc:
		if err == nil || !strings.HasPrefix(err.Error(), "siptest: ") {
			t.Errorf("Next after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Next still waiting 2 s after Close")
	}
}
