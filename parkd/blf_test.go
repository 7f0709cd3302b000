package parkd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/presence"
	"github.com/parkd/parkd/sipcore/siptest"
)

// subscribe subscribes p to ext on d and fails the test unless it gets want.
func (d *daemon) subscribe(p *siptest.Phone, ext string, want int, opts siptest.SubscribeOptions) *siptest.Subscription {
	d.t.Helper()
	d.t.Cleanup(d.shutdown)
	sub, err := p.Subscribe(ctxFor(d.t, 5*time.Second), d.uri(ext, p), opts)
	if err != nil {
		d.t.Fatalf("%s subscribing to %s: %v", p.User, ext, err)
	}
	if sub.Status() != want {
		d.t.Fatalf("%s subscribing to %s: got %d %s (Warning: %s), want %d", p.User, ext,
			sub.Status(), sub.Response().Reason, sub.Header("Warning"), want)
	}
	return sub
}

// nextNotify waits for the subscription's next NOTIFY.
func nextNotify(t *testing.T, sub *siptest.Subscription) *siptest.Notify {
	t.Helper()
	n, err := sub.Next(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatalf("no NOTIFY: %v", err)
	}
	return n
}

// nextDialogInfo waits for the next NOTIFY and parses its dialog-info body.
func nextDialogInfo(t *testing.T, sub *siptest.Subscription) (*siptest.Notify, *presence.DialogInfo) {
	t.Helper()
	n := nextNotify(t, sub)
	if n.ContentType != presence.DialogInfoType {
		t.Fatalf("NOTIFY Content-Type %q, want %s", n.ContentType, presence.DialogInfoType)
	}
	info, err := presence.ParseDialogInfo(n.Body)
	if err != nil {
		t.Fatalf("NOTIFY body: %v\n%s", err, n.Body)
	}
	if info.State != "full" {
		t.Errorf("dialog-info state %q, want full", info.State)
	}
	return n, info
}

// waitWatchers waits until the slot reports n BLF subscriptions.
func (d *daemon) waitWatchers(slot string, n int) {
	d.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for d.slot(slot).Subscribers != n {
		if time.Now().After(deadline) {
			d.t.Fatalf("slot %s has %d subscribers, want %d", slot, d.slot(slot).Subscribers, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func phoneOpts(transport string, more ...siptest.Option) []siptest.Option {
	if transport == "tcp" {
		more = append(more, siptest.WithTCP())
	}
	return more
}

// A BLF key on a slot: idle, then blinking with the parked caller's name
// and the dialog a pickup needs, then idle again once the call is taken.
func TestBLFFollowsParkAndRetrieve(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			d := startDaemon(t, nil)
			bob := siptest.NewPhone(t, "bob", phoneOpts(transport)...)
			sub := d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Expires: 600})
			if got := sub.Header("Expires"); got != "600" {
				t.Errorf("200 Expires %q, want 600", got)
			}
			if sub.Header("Contact") == "" {
				t.Error("200 to SUBSCRIBE has no Contact")
			}

			n, info := nextDialogInfo(t, sub)
			if n.State != "active" || n.Expires < 598 || n.Expires > 600 {
				t.Errorf("first NOTIFY Subscription-State %s;expires=%d, want active;expires≈600", n.State, n.Expires)
			}
			if n.Event != "dialog" {
				t.Errorf("NOTIFY Event %q, want dialog", n.Event)
			}
			if info.Version != 0 || len(info.Dialogs) != 0 || !strings.HasPrefix(info.Entity, "sip:701@") {
				t.Errorf("idle slot: version %d, %d dialogs, entity %q; want version 0, none, sip:701@…", info.Version, len(info.Dialogs), info.Entity)
			}
			d.waitWatchers("701", 1)

			alice := siptest.NewPhone(t, "alice", phoneOpts(transport, siptest.WithDisplay("Alice Liddell"))...)
			parked := d.dial(alice, "700", 200, siptest.CallOptions{})
			_, info = nextDialogInfo(t, sub)
			if info.Version != 1 || len(info.Dialogs) != 1 {
				t.Fatalf("after park: version %d with %d dialogs, want version 1 with 1", info.Version, len(info.Dialogs))
			}
			dlg := info.Dialogs[0]
			if dlg.State != "early" || dlg.Direction != "recipient" {
				t.Errorf("parked dialog state %q direction %q, want early recipient", dlg.State, dlg.Direction)
			}
			if dlg.CallID != parked.CallID() || dlg.LocalTag != parked.ToTag() || dlg.RemoteTag != parked.FromTag() {
				t.Errorf("dialog call-id %q local-tag %q remote-tag %q; want the parked call's %q %q %q",
					dlg.CallID, dlg.LocalTag, dlg.RemoteTag, parked.CallID(), parked.ToTag(), parked.FromTag())
			}
			if dlg.Remote == nil || dlg.Remote.Display != "Alice Liddell" || !strings.Contains(dlg.Remote.URI, "alice@") {
				t.Errorf("remote identity %+v, want Alice Liddell <sip:alice@…>", dlg.Remote)
			}

			carol := siptest.NewPhone(t, "carol", phoneOpts(transport)...)
			d.dial(carol, "701", 200, siptest.CallOptions{})
			_, info = nextDialogInfo(t, sub)
			if info.Version != 2 || len(info.Dialogs) != 0 {
				t.Errorf("after retrieve: version %d with %d dialogs, want version 2 and none", info.Version, len(info.Dialogs))
			}
		})
	}
}

// A caller who hangs up while parked turns the key off.
func TestBLFAbandonedCallClearsKey(t *testing.T) {
	d := startDaemon(t, nil)
	bob := siptest.NewPhone(t, "bob")
	sub := d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Expires: 600})
	nextDialogInfo(t, sub)
	alice := siptest.NewPhone(t, "alice")
	call := d.dial(alice, "700", 200, siptest.CallOptions{})
	if _, info := nextDialogInfo(t, sub); len(info.Dialogs) != 1 {
		t.Fatalf("after park: %d dialogs, want 1", len(info.Dialogs))
	}
	if _, err := call.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, info := nextDialogInfo(t, sub); len(info.Dialogs) != 0 {
		t.Errorf("after the caller hung up: %d dialogs, want none", len(info.Dialogs))
	}
}

// presence_type and presence_id come from the slot's policy: a slot can
// show steady busy (confirmed) and be published under another entity.
func TestBLFPresencePolicy(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) {
		confirmed, id := "confirmed", "lobby@pbx.example.com"
		c.Lots[0].SlotPolicies = map[string]parkd.Policy{"702": {PresenceType: &confirmed, PresenceID: &id}}
	})
	bob := siptest.NewPhone(t, "bob")
	byID := d.subscribe(bob, "lobby", 200, siptest.SubscribeOptions{Expires: 600})
	bySlot := d.subscribe(bob, "702", 200, siptest.SubscribeOptions{Expires: 600})
	if _, info := nextDialogInfo(t, byID); info.Entity != "sip:lobby@pbx.example.com" {
		t.Errorf("entity %q, want sip:lobby@pbx.example.com", info.Entity)
	}
	nextDialogInfo(t, bySlot)
	d.waitWatchers("702", 2)

	alice := siptest.NewPhone(t, "alice")
	d.dial(alice, "702", 200, siptest.CallOptions{})
	for name, sub := range map[string]*siptest.Subscription{"presence_id": byID, "slot": bySlot} {
		_, info := nextDialogInfo(t, sub)
		if len(info.Dialogs) != 1 || info.Dialogs[0].State != "confirmed" {
			t.Errorf("%s subscription: %+v, want one confirmed dialog", name, info.Dialogs)
		}
	}
}

// A lot subscription shows every occupied slot of the lot as its own dialog.
func TestBLFLotSubscription(t *testing.T) {
	for _, ext := range []string{"700", "park"} {
		t.Run(ext, func(t *testing.T) {
			d := startDaemon(t, nil)
			bob := siptest.NewPhone(t, "bob")
			sub := d.subscribe(bob, ext, 200, siptest.SubscribeOptions{Expires: 600})
			nextDialogInfo(t, sub)
			d.waitWatchers("701", 1)
			d.waitWatchers("720", 1)

			alice := siptest.NewPhone(t, "alice", siptest.WithDisplay("Alice"))
			zed := siptest.NewPhone(t, "zed", siptest.WithDisplay("Zed"))
			d.dial(alice, "700", 200, siptest.CallOptions{})
			nextDialogInfo(t, sub)
			d.dial(zed, "700", 200, siptest.CallOptions{})
			_, info := nextDialogInfo(t, sub)
			if len(info.Dialogs) != 2 {
				t.Fatalf("lot with two parked calls: %d dialogs, want 2", len(info.Dialogs))
			}
			for i, want := range []struct{ slot, who string }{{"701", "Alice"}, {"702", "Zed"}} {
				dlg := info.Dialogs[i]
				if dlg.Local == nil || !strings.HasPrefix(dlg.Local.URI, "sip:"+want.slot+"@") || dlg.Remote.Display != want.who {
					t.Errorf("dialog %d: local %+v remote %+v, want slot %s with %s", i, dlg.Local, dlg.Remote, want.slot, want.who)
				}
			}
		})
	}
}

// Phones that light keys from presence get PIDF: open while the slot is
// empty, closed with who is waiting while it holds a call.
func TestBLFPresencePIDF(t *testing.T) {
	d := startDaemon(t, nil)
	bob := siptest.NewPhone(t, "bob")
	sub := d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Event: "presence", Expires: 600})
	pidf := func() *presence.PIDF {
		n := nextNotify(t, sub)
		if n.ContentType != presence.PIDFType || n.Event != "presence" {
			t.Fatalf("NOTIFY Content-Type %q Event %q, want %s presence", n.ContentType, n.Event, presence.PIDFType)
		}
		doc, err := presence.ParsePIDF(n.Body)
		if err != nil {
			t.Fatalf("PIDF: %v\n%s", err, n.Body)
		}
		if len(doc.Tuples) != 1 {
			t.Fatalf("PIDF with %d tuples, want 1", len(doc.Tuples))
		}
		return doc
	}
	if doc := pidf(); !doc.Tuples[0].Open {
		t.Errorf("empty slot: %+v, want open", doc.Tuples[0])
	}
	alice := siptest.NewPhone(t, "alice", siptest.WithDisplay("Alice"))
	d.dial(alice, "700", 200, siptest.CallOptions{})
	if tu := pidf().Tuples[0]; tu.Open || !strings.Contains(tu.Note, "Alice") || !tu.OnThePhone {
		t.Errorf("occupied slot: %+v, want closed, on the phone, with Alice in the note", tu)
	}
}

// Refresh extends a subscription and gets a NOTIFY; Expires: 0 ends it
// with a final NOTIFY; the slot's subscriber count follows.
func TestBLFRefreshAndUnsubscribe(t *testing.T) {
	d := startDaemon(t, nil)
	bob := siptest.NewPhone(t, "bob")
	sub := d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Expires: 120})
	nextDialogInfo(t, sub)
	d.waitWatchers("701", 1)

	res, err := sub.Refresh(ctxFor(t, 5*time.Second), 900)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("refresh: %v %v, want 200", res, err)
	}
	if h := res.GetHeader("Expires"); h == nil || h.Value() != "900" {
		t.Errorf("refresh granted Expires %v, want 900", h)
	}
	n, info := nextDialogInfo(t, sub)
	if n.State != "active" || n.Expires < 898 || info.Version != 1 {
		t.Errorf("NOTIFY after refresh: %s;expires=%d version %d, want active;expires≈900 version 1", n.State, n.Expires, info.Version)
	}

	res, err = sub.Unsubscribe(ctxFor(t, 5*time.Second))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("unsubscribe: %v %v, want 200", res, err)
	}
	n = nextNotify(t, sub)
	if n.State != "terminated" || n.Reason != "timeout" {
		t.Errorf("final NOTIFY Subscription-State %s;reason=%s, want terminated;reason=timeout", n.State, n.Reason)
	}
	d.waitWatchers("701", 0)

	res, err = sub.Refresh(ctxFor(t, 5*time.Second), 600)
	if err != nil || res.StatusCode != 481 {
		t.Errorf("refresh after unsubscribe: %v %v, want 481", res, err)
	}
}

// An expired subscription gets a final NOTIFY and stops counting.
func TestBLFExpiry(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) { c.BLF.MinExpires = parkd.Duration(time.Second) })
	bob := siptest.NewPhone(t, "bob")
	sub := d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Expires: 2})
	nextDialogInfo(t, sub)
	d.waitWatchers("701", 1)
	n, err := sub.Next(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatalf("no final NOTIFY at expiry: %v", err)
	}
	if n.State != "terminated" || n.Reason != "timeout" {
		t.Errorf("NOTIFY at expiry: %s;reason=%s, want terminated;reason=timeout", n.State, n.Reason)
	}
	d.waitWatchers("701", 0)
}

// What a SUBSCRIBE gets when parkd will not take it as asked.
func TestBLFSubscribeAnswers(t *testing.T) {
	d := startDaemon(t, nil)
	bob := siptest.NewPhone(t, "bob")
	cases := []struct {
		name   string
		ext    string
		opts   siptest.SubscribeOptions
		status int
		header string // a header the answer must carry, "Name: value"
	}{
		{"below min_expires", "701", siptest.SubscribeOptions{Expires: 30}, 423, "Min-Expires: 60"},
		{"above max_expires is clamped", "701", siptest.SubscribeOptions{Expires: 86400}, 200, "Expires: 3600"},
		{"no Expires gets the default", "701", siptest.SubscribeOptions{Expires: siptest.NoExpires}, 200, "Expires: 3600"},
		{"unknown entity", "799", siptest.SubscribeOptions{Expires: 600}, 404, ""},
		{"unsupported event", "701", siptest.SubscribeOptions{Event: "message-summary", Expires: 600}, 489, "Allow-Events: dialog, presence"},
		{"unacceptable body type", "701", siptest.SubscribeOptions{Expires: 600, Accept: "application/xpidf+xml"}, 406, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sub := d.subscribe(bob, tc.ext, tc.status, tc.opts)
			if tc.header != "" {
				name, want, _ := strings.Cut(tc.header, ": ")
				if got := sub.Header(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
		})
	}
}

// A one-off fetch (Expires: 0) gets the state once and keeps nothing.
func TestBLFFetch(t *testing.T) {
	d := startDaemon(t, nil)
	bob := siptest.NewPhone(t, "bob")
	sub := d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Expires: 0})
	n, info := nextDialogInfo(t, sub)
	if n.State != "terminated" || info.Version != 0 {
		t.Errorf("fetch NOTIFY: %s version %d, want terminated version 0", n.State, info.Version)
	}
	if got := d.slot("701").Subscribers; got != 0 {
		t.Errorf("a fetch left %d subscribers", got)
	}
}

// A phone that answers NOTIFY with 481 (it rebooted) or not at all loses
// its subscription.
func TestBLFDeadSubscriberIsRemoved(t *testing.T) {
	cases := []struct {
		name   string
		answer func(*siptest.Subscription)
	}{
		{"481", func(s *siptest.Subscription) { s.AnswerNotifies(481) }},
		{"forgotten", func(s *siptest.Subscription) { s.Forget() }},
		{"no answer", func(s *siptest.Subscription) { s.AnswerNotifies(0) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := startDaemon(t, func(c *parkd.Config) { c.BLF.NotifyTimeout = parkd.Duration(time.Second) })
			bob := siptest.NewPhone(t, "bob")
			sub := d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Expires: 600})
			nextDialogInfo(t, sub)
			d.waitWatchers("701", 1)
			tc.answer(sub)
			alice := siptest.NewPhone(t, "alice")
			d.dial(alice, "700", 200, siptest.CallOptions{})
			d.waitWatchers("701", 0)
		})
	}
}

// Past the per-source and total limits SUBSCRIBE gets 503 with Retry-After.
func TestBLFLimits(t *testing.T) {
	cases := []struct {
		name string
		edit func(*parkd.BLFConfig)
	}{
		{"per source", func(b *parkd.BLFConfig) { b.MaxPerSource = 2 }},
		{"total", func(b *parkd.BLFConfig) { b.MaxTotal = 2 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := startDaemon(t, func(c *parkd.Config) { tc.edit(&c.BLF) })
			bob := siptest.NewPhone(t, "bob")
			d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Expires: 600})
			first := d.subscribe(bob, "702", 200, siptest.SubscribeOptions{Expires: 600})
			refused := d.subscribe(bob, "703", 503, siptest.SubscribeOptions{Expires: 600})
			if refused.Header("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			// Refreshes are not new subscriptions; an ended one frees its place.
			if res, err := first.Refresh(ctxFor(t, 5*time.Second), 600); err != nil || res.StatusCode != 200 {
				t.Errorf("refresh at the limit: %v %v, want 200", res, err)
			}
			if res, err := first.Unsubscribe(ctxFor(t, 5*time.Second)); err != nil || res.StatusCode != 200 {
				t.Fatalf("unsubscribe: %v %v", res, err)
			}
			d.subscribe(bob, "703", 200, siptest.SubscribeOptions{Expires: 600})
		})
	}
}

// On SIGTERM every subscriber is told to come back later, so keys do not
// wait out an hour's Expires after a restart.
func TestBLFShutdownEndsSubscriptions(t *testing.T) {
	d := startDaemon(t, nil)
	bob := siptest.NewPhone(t, "bob")
	sub := d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Expires: 600})
	nextDialogInfo(t, sub)
	d.shutdown()
	n := nextNotify(t, sub)
	if n.State != "terminated" || n.Reason != "probation" || n.RetryAfter <= 0 {
		t.Errorf("NOTIFY at shutdown: %s;reason=%s;retry-after=%d, want terminated;reason=probation with retry-after",
			n.State, n.Reason, n.RetryAfter)
	}
}

// Malformed SUBSCRIBEs get a clear 400 and leave a parked call (and its
// music) and the slot's BLF alone.
func TestBLFBadSubscribeLeavesCallsAlone(t *testing.T) {
	d := startDaemon(t, nil)
	alice := siptest.NewPhone(t, "alice")
	call := d.dial(alice, "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	mallory := siptest.NewPhone(t, "mallory")
	for _, tc := range []struct {
		name string
		opts siptest.SubscribeOptions
	}{
		{"Expires not a number", siptest.SubscribeOptions{Expires: siptest.NoExpires, Headers: [][2]string{{"Expires", "soon"}}}},
		{"Expires negative", siptest.SubscribeOptions{Expires: siptest.NoExpires, Headers: [][2]string{{"Expires", "-5"}}}},
	} {
		sub := d.subscribe(mallory, "701", 400, tc.opts)
		if !strings.Contains(sub.Header("Warning"), "Expires") {
			t.Errorf("%s: Warning %q does not say what was wrong", tc.name, sub.Header("Warning"))
		}
	}
	if _, err := call.RTP.Collect(ctxFor(t, 3*time.Second), 10, nil); err != nil {
		t.Fatalf("music on hold stopped after bad SUBSCRIBEs: %v", err)
	}
	if v := d.slot("701"); v.Call == nil || v.Subscribers != 0 {
		t.Errorf("slot 701 after bad SUBSCRIBEs: %+v, want the call still parked and no subscribers", v)
	}
}
