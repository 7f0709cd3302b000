package parkd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/siptest"
)

// recallRig is a daemon on a manual clock with a parked call, its parker's
// phone and phones for a ring group.
type recallRig struct {
	*daemon
	clock  *parkd.ManualClock
	alice  *siptest.Phone // the parked caller
	bob    *siptest.Phone // the parker
	parked *siptest.Call
}

// startRecallRig parks Alice in 701 by a transfer from Bob (Referred-By);
// policy edits the config (defaults: recall after 45 s, parker rung 30 s).
func startRecallRig(t *testing.T, edit func(*parkd.Config, *recallRig)) *recallRig {
	t.Helper()
	r := &recallRig{clock: parkd.NewManualClock(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))}
	r.alice = siptest.NewPhone(t, "alice", siptest.WithDisplay("Alice"))
	r.bob = siptest.NewPhone(t, "bob", siptest.WithDisplay("Bob"))
	r.daemon = startDaemon(t, func(c *parkd.Config) {
		if edit != nil {
			edit(c, r)
		}
	}, parkd.WithClock(r.clock))
	r.parked = r.dial(r.alice, "700", 200, siptest.CallOptions{Headers: [][2]string{{"Referred-By", "<" + r.bob.URI() + ">"}}})
	r.waitEvent(parkd.EventParked, "701")
	return r
}

// recallDue moves the clock past recall_after.
func (r *recallRig) recallDue(after time.Duration) { r.clock.Advance(after) }

// ringing waits for the phone to ring and returns the incoming call.
func ringing(t *testing.T, p *siptest.Phone) *siptest.Incoming {
	t.Helper()
	in, err := p.Incoming(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatalf("%s never rang: %v", p.User, err)
	}
	if err := in.Ring(); err != nil {
		t.Fatalf("%s: 180: %v", p.User, err)
	}
	return in
}

func answer(t *testing.T, in *siptest.Incoming) *siptest.Call {
	t.Helper()
	c, err := in.Answer(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatalf("answering the recall: %v", err)
	}
	return c
}

func waitCanceled(t *testing.T, who string, in *siptest.Incoming) {
	t.Helper()
	if err := in.WaitCanceled(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("%s kept ringing: no CANCEL (%v)", who, err)
	}
}

// The parker answers: the recall shows who is coming back, rings with the
// recall Alert-Info, and is bridged to the parked caller; the slot frees.
func TestRecallParkerAnswers(t *testing.T) {
	r := startRecallRig(t, nil)
	r.recallDue(45 * time.Second)
	in := ringing(t, r.bob)

	display, uri := in.From()
	if display != "Park701: Alice" || !strings.Contains(uri, "alice@") {
		t.Errorf("recall From = %q <%s>, want \"Park701: Alice\" <sip:alice@…>", display, uri)
	}
	if got := in.Header("Alert-Info"); got != parkd.DefaultRecallAlertInfo {
		t.Errorf("Alert-Info = %q, want %q", got, parkd.DefaultRecallAlertInfo)
	}
	if got := in.Header("Subject"); !strings.Contains(got, "701") {
		t.Errorf("Subject = %q, want it to name slot 701", got)
	}
	ev := r.waitEvent(parkd.EventRecalling, "701")
	if ev.Call.Recalling != parkd.StepParker || ev.Call.Recalls != 1 {
		t.Errorf("recalling event call = %+v, want step parker, round 1", ev.Call)
	}
	if v := r.slot("701"); v.Call == nil {
		t.Fatal("slot 701 freed while the recall rings; it must stay occupied")
	}

	bobCall := answer(t, in)
	ev = r.waitEvent(parkd.EventRecalled, "701")
	if !strings.Contains(ev.Detail, "bob@") {
		t.Errorf("recalled detail %q, want it to name bob", ev.Detail)
	}
	if v := r.slot("701"); v.Call != nil {
		t.Errorf("slot 701 still holds %+v after the recall was answered", v.Call)
	}
	assertAudio(t, r.parked, bobCall)
	assertAudio(t, bobCall, r.parked)
}

// Nobody at the parker's phone: after ring_parker_for it gets CANCEL and the
// ring group rings at once; the first member to answer wins, the rest get
// CANCEL.
func TestRecallGroupAnswersAfterParker(t *testing.T) {
	var carol, dave *siptest.Phone
	r := startRecallRig(t, func(c *parkd.Config, r *recallRig) {
		carol = siptest.NewPhone(t, "carol")
		dave = siptest.NewPhone(t, "dave", siptest.WithTCP())
		c.Defaults.RingGroup = []string{carol.URI(), dave.URI() + ";transport=tcp"}
	})
	r.recallDue(45 * time.Second)
	bobIn := ringing(t, r.bob)
	r.waitEvent(parkd.EventRecalling, "701")
	r.clock.Advance(30 * time.Second)
	waitCanceled(t, "bob", bobIn)
	ev := r.waitEvent(parkd.EventRecallFailed, "701")
	if !strings.HasPrefix(ev.Detail, "parker") {
		t.Errorf("recall_failed detail %q, want the parker step", ev.Detail)
	}

	carolIn := ringing(t, carol)
	daveIn := ringing(t, dave)
	ev = r.waitEvent(parkd.EventRecalling, "701")
	if ev.Call.Recalling != parkd.StepRingGroup {
		t.Errorf("second step %q, want ring_group", ev.Call.Recalling)
	}
	daveCall := answer(t, daveIn)
	waitCanceled(t, "carol", carolIn)
	r.waitEvent(parkd.EventRecalled, "701")
	assertAudio(t, r.parked, daveCall)
	if n := r.bob.IncomingCount(); n != 1 {
		t.Errorf("bob rang %d times, want 1", n)
	}
}

// A busy parker moves the recall on at once, without waiting for the ring time.
func TestRecallBusyParkerGoesToGroup(t *testing.T) {
	var carol *siptest.Phone
	r := startRecallRig(t, func(c *parkd.Config, r *recallRig) {
		carol = siptest.NewPhone(t, "carol")
		c.Defaults.RingGroup = []string{carol.URI()}
	})
	r.recallDue(45 * time.Second)
	bobIn, err := r.bob.Incoming(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	bobIn.Reject(486)
	ev := r.waitEvent(parkd.EventRecallFailed, "701")
	if !strings.Contains(ev.Detail, "486") {
		t.Errorf("recall_failed detail %q, want the 486", ev.Detail)
	}
	answer(t, ringing(t, carol))
	r.waitEvent(parkd.EventRecalled, "701")
}

// on_failure, once every step went unanswered.
func TestRecallOnFailure(t *testing.T) {
	t.Run("repark then hang up after max_recalls", func(t *testing.T) {
		r := startRecallRig(t, func(c *parkd.Config, _ *recallRig) {
			c.Defaults.MaxRecalls = ptr(2)
			c.Defaults.RecallTo = ptr(parkd.RecallParkerOnly)
		})
		for round := 1; round <= 2; round++ {
			r.recallDue(45 * time.Second)
			in := ringing(t, r.bob)
			r.waitEvent(parkd.EventRecalling, "701")
			r.clock.Advance(30 * time.Second)
			waitCanceled(t, "bob", in)
			if round == 1 {
				ev := r.waitEvent(parkd.EventReparked, "701")
				if !strings.Contains(ev.Detail, "1 of 2") {
					t.Errorf("reparked detail %q", ev.Detail)
				}
				if r.slot("701").Call == nil {
					t.Fatal("slot empty after repark")
				}
			}
		}
		ev := r.waitEvent(parkd.EventHungUp, "701")
		if !strings.Contains(ev.Detail, "after 2 recalls") {
			t.Errorf("hungup detail %q, want why", ev.Detail)
		}
		bye, err := r.parked.WaitHangup(ctxFor(t, 5*time.Second))
		if err != nil {
			t.Fatalf("parked caller got no BYE: %v", err)
		}
		if reason := bye.GetHeader("Reason"); reason == nil || !strings.Contains(reason.Value(), "recalls") {
			t.Errorf("BYE Reason %v, want it to say why", reason)
		}
		if n := r.bob.IncomingCount(); n != 2 {
			t.Errorf("bob rang %d times, want 2", n)
		}
	})
	t.Run("hangup", func(t *testing.T) {
		r := startRecallRig(t, func(c *parkd.Config, _ *recallRig) {
			c.Defaults.OnFailure = ptr(parkd.FailureHangup)
		})
		r.recallDue(45 * time.Second)
		ringing(t, r.bob).Reject(603)
		r.waitEvent(parkd.EventHungUp, "701")
		if _, err := r.parked.WaitHangup(ctxFor(t, 5*time.Second)); err != nil {
			t.Fatalf("parked caller got no BYE: %v", err)
		}
	})
	t.Run("forward", func(t *testing.T) {
		var vm *siptest.Phone
		r := startRecallRig(t, func(c *parkd.Config, _ *recallRig) {
			vm = siptest.NewPhone(t, "voicemail")
			c.Lots[0].SlotPolicies = map[string]parkd.Policy{"701": {OnFailure: ptr(parkd.FailureForward), ForwardTo: ptr(vm.URI())}}
		})
		r.recallDue(45 * time.Second)
		ringing(t, r.bob).Reject(486)
		vmCall := answer(t, ringing(t, vm))
		ev := r.waitEvent(parkd.EventForwarded, "701")
		if !strings.Contains(ev.Detail, "voicemail@") {
			t.Errorf("forwarded detail %q", ev.Detail)
		}
		assertAudio(t, r.parked, vmCall)
	})
}

// Dialling the slot while the recall rings retrieves the call and cancels
// the recall.
func TestRetrieveDuringRecall(t *testing.T) {
	r := startRecallRig(t, nil)
	r.recallDue(45 * time.Second)
	in := ringing(t, r.bob)
	r.waitEvent(parkd.EventRecalling, "701")
	eve := siptest.NewPhone(t, "eve")
	retriever := r.dial(eve, "701", 200, siptest.CallOptions{})
	r.waitEvent(parkd.EventRetrieved, "701")
	waitCanceled(t, "bob", in)
	assertAudio(t, r.parked, retriever)
	if r.clock.Pending() != 0 {
		t.Errorf("%d timers still pending after the retrieve", r.clock.Pending())
	}
}

// A group member whose 200 crosses parkd's CANCEL is ACKed and hung up.
func TestRecallLateAnswerIsHungUp(t *testing.T) {
	var carol, dave *siptest.Phone
	r := startRecallRig(t, func(c *parkd.Config, r *recallRig) {
		carol = siptest.NewPhone(t, "carol")
		dave = siptest.NewPhone(t, "dave")
		c.Defaults.RecallTo = ptr(parkd.RecallGroupOnly)
		c.Defaults.RingGroup = []string{carol.URI(), dave.URI()}
	})
	r.recallDue(45 * time.Second)
	carolIn := ringing(t, carol)
	daveIn := ringing(t, dave)
	if err := daveIn.AnswerOnCancel(); err != nil {
		t.Fatal(err)
	}
	answer(t, carolIn)
	late, err := daveIn.AnswerAfterCancel(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatalf("dave's late 200: %v", err)
	}
	bye, err := late.WaitHangup(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatalf("dave's late answer was not hung up: %v", err)
	}
	if reason := bye.GetHeader("Reason"); reason == nil || !strings.HasPrefix(reason.Value(), "Q.850;cause=26;") {
		t.Errorf("BYE Reason %v, want Q.850 cause 26 (non-selected user clearing)", reason)
	}
	r.waitEvent(parkd.EventRecalled, "701")
}

// Who parked: Referred-By first, then the configured headers; nobody known
// skips the parker (and says so) and rings the group.
func TestRecallParkerFromHeaders(t *testing.T) {
	tests := []struct {
		name    string
		headers func(bob string) [][2]string
		from    string // CallView.ParkerFrom; "" = unknown
	}{
		{"Referred-By", func(bob string) [][2]string { return [][2]string{{"Referred-By", "<" + bob + ">"}} }, "Referred-By"},
		{"Diversion", func(bob string) [][2]string { return [][2]string{{"Diversion", "<" + bob + ">;reason=deflection"}} }, "Diversion"},
		{"History-Info", func(bob string) [][2]string {
			return [][2]string{{"History-Info", "<" + bob + ">;index=1, <sip:700@parkd>;index=1.1"}}
		}, "History-Info"},
		{"X-Parker", func(bob string) [][2]string { return [][2]string{{"X-Parker", `"Bob" <` + bob + ">"}} }, "X-Parker"},
		{"none", func(string) [][2]string { return nil }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := parkd.NewManualClock(time.Now())
			bob := siptest.NewPhone(t, "bob")
			carol := siptest.NewPhone(t, "carol")
			d := startDaemon(t, func(c *parkd.Config) {
				c.SIP.ParkerHeaders = []string{"Diversion", "History-Info", "X-Parker"}
				c.Defaults.RingGroup = []string{carol.URI()}
			}, parkd.WithClock(clock))
			d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{Headers: tt.headers(bob.URI())})
			ev := d.waitEvent(parkd.EventParked, "701")
			if ev.Call.ParkerFrom != tt.from {
				t.Errorf("parker from %q, want %q", ev.Call.ParkerFrom, tt.from)
			}
			clock.Advance(45 * time.Second)
			if tt.from == "" {
				ev := d.waitEvent(parkd.EventRecallFailed, "701")
				if !strings.Contains(ev.Detail, "parker unknown") {
					t.Errorf("skip detail %q, want it to say the parker is unknown", ev.Detail)
				}
				answer(t, ringing(t, carol))
				if bob.IncomingCount() != 0 {
					t.Error("bob rang though nobody said he parked the call")
				}
				return
			}
			if ev.Call.Parker != nil && !strings.Contains(ev.Call.Parker.URI, "bob@") {
				t.Errorf("parker %q, want bob", ev.Call.Parker.URI)
			}
			answer(t, ringing(t, bob))
			d.waitEvent(parkd.EventRecalled, "701")
		})
	}
}

func ptr[T any](v T) *T { return &v }

// While a recall rings the slot's BLF says so: an early (blinking) dialog
// "Recall 701" even for a confirmed slot; answered, the slot goes empty.
func TestRecallShowsOnBLF(t *testing.T) {
	r := startRecallRig(t, func(c *parkd.Config, _ *recallRig) {
		c.Defaults.PresenceType = ptr(parkd.PresenceConfirmed)
	})
	watcher := siptest.NewPhone(t, "watcher")
	sub := r.subscribe(watcher, "701", 200, siptest.SubscribeOptions{Expires: 600})
	_, info := nextDialogInfo(t, sub)
	if len(info.Dialogs) != 1 || info.Dialogs[0].State != "confirmed" {
		t.Fatalf("parked slot dialogs = %+v, want one confirmed", info.Dialogs)
	}
	r.recallDue(45 * time.Second)
	in := ringing(t, r.bob)
	_, info = nextDialogInfo(t, sub)
	if len(info.Dialogs) != 1 || info.Dialogs[0].State != "early" || info.Dialogs[0].Local == nil || info.Dialogs[0].Local.Display != "Recall 701" {
		t.Fatalf("dialogs while the recall rings = %+v, want one early \"Recall 701\"", info.Dialogs)
	}
	answer(t, in)
	_, info = nextDialogInfo(t, sub)
	if len(info.Dialogs) != 0 {
		t.Errorf("dialogs after the recall was answered = %+v, want none", info.Dialogs)
	}
}

// With sip.outbound_proxy set, the recall goes to the proxy, addressed to
// the parker (Request-URI) with the proxy as a loose Route.
func TestRecallThroughOutboundProxy(t *testing.T) {
	var proxy *siptest.Phone
	r := startRecallRig(t, func(c *parkd.Config, _ *recallRig) {
		proxy = siptest.NewPhone(t, "proxy")
		c.SIP.OutboundProxy = strings.TrimPrefix(proxy.URI(), "sip:proxy@") // host:port form
	})
	r.recallDue(45 * time.Second)
	in := ringing(t, proxy)
	req := in.Request()
	if req.Recipient.User != "bob" {
		t.Errorf("Request-URI %s, want the parker bob", req.Recipient.String())
	}
	route := req.GetHeader("Route")
	if route == nil || !strings.Contains(route.Value(), strings.TrimPrefix(proxy.URI(), "sip:proxy@")) || !strings.Contains(route.Value(), ";lr") {
		t.Errorf("Route %v, want <sip:proxy-address;lr>", route)
	}
	if n := r.bob.IncomingCount(); n != 0 {
		t.Errorf("bob was rung directly %d times, past the proxy", n)
	}
	answer(t, in)
	r.waitEvent(parkd.EventRecalled, "701")
}

// The API names the parker of a call that arrived without one; its recall
// rings that phone.
func TestRecallParkerNamedByAPI(t *testing.T) {
	clock := parkd.NewManualClock(time.Now())
	bob := siptest.NewPhone(t, "bob")
	d := startDaemon(t, func(c *parkd.Config) { c.Defaults.RecallTo = ptr(parkd.RecallParkerOnly) }, parkd.WithClock(clock))
	d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	if err := d.srv.SetParker("701", parkd.Party{URI: "not a uri"}); err == nil {
		t.Error("a parker that is not a SIP URI was accepted")
	}
	if err := d.srv.SetParker("702", parkd.Party{URI: bob.URI()}); err == nil {
		t.Error("naming the parker of an empty slot was accepted")
	}
	if err := d.srv.SetParker("701", parkd.Party{Display: "Bob", URI: bob.URI()}); err != nil {
		t.Fatal(err)
	}
	ev := d.waitEvent(parkd.EventParker, "701")
	if ev.Call.ParkerFrom != parkd.ParkerFromAPI || ev.Call.Parker == nil || ev.Call.Parker.URI != bob.URI() {
		t.Errorf("parker event call = %+v", ev.Call)
	}
	clock.Advance(45 * time.Second)
	answer(t, ringing(t, bob))
	d.waitEvent(parkd.EventRecalled, "701")
}

// A lot configured with a Kazoo data object parks the Kazoo way: its
// static slot, no slot above max_slot_number, its ringback timeout.
func TestKazooLotParks(t *testing.T) {
	clock := parkd.NewManualClock(time.Now())
	bob := siptest.NewPhone(t, "bob")
	d := startDaemon(t, func(c *parkd.Config) {
		c.Lots[0].Kazoo = map[string]any{
			"action": "park", "slot": "705", "max_slot_number": 710,
			"default_ringback_timeout": 20000, "default_callback_timeout": 10000,
		}
		c.Defaults.RecallTo = ptr(parkd.RecallParkerOnly)
	}, parkd.WithClock(clock))
	d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{Headers: [][2]string{{"Referred-By", "<" + bob.URI() + ">"}}})
	d.waitEvent(parkd.EventParked, "705")
	d.dial(siptest.NewPhone(t, "carol"), "700", 486, siptest.CallOptions{}) // the static slot is taken
	d.dial(siptest.NewPhone(t, "dave"), "715", 404, siptest.CallOptions{})  // above max_slot_number
	d.dial(siptest.NewPhone(t, "erin"), "705", 486, siptest.CallOptions{})  // action park: dialling a slot never retrieves
	clock.Advance(19 * time.Second)
	if n := bob.IncomingCount(); n != 0 {
		t.Fatalf("bob rang before Kazoo's 20 s ringback timeout")
	}
	clock.Advance(time.Second)
	in := ringing(t, bob)
	clock.Advance(10 * time.Second) // Kazoo's callback timeout
	waitCanceled(t, "bob", in)
}

// A parker whose host is a name, given by a source parkd neither trusts nor
// authenticated, is shown but never rung: parkd does not look up names a
// stranger hands it. The recall goes on to the ring group.
func TestRecallNeverResolvesAnUntrustedParkerName(t *testing.T) {
	carol := siptest.NewPhone(t, "carol")
	clock := parkd.NewManualClock(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
	d := startDaemon(t, func(c *parkd.Config) { c.Defaults.RingGroup = []string{carol.URI()} }, parkd.WithClock(clock))
	alice := siptest.NewPhone(t, "alice")
	d.dial(alice, "700", 200, siptest.CallOptions{Headers: [][2]string{{"Referred-By", "<sip:bob@parker.invalid>"}}})
	if ev := d.waitEvent(parkd.EventParked, "701"); ev.Call.Parker == nil || ev.Call.Parker.URI != "sip:bob@parker.invalid" {
		t.Fatalf("parker %+v, want it shown as sent", ev.Call.Parker)
	}
	clock.Advance(45 * time.Second)
	if ev := d.waitEvent(parkd.EventRecalling, "701"); ev.Call.Recalling != parkd.StepRingGroup {
		t.Errorf("first recall step %q (%s), want the ring group: the parker's name is not to be looked up", ev.Call.Recalling, ev.Detail)
	}
	answer(t, ringing(t, carol))
	d.waitEvent(parkd.EventRecalled, "701")
}

// SIGTERM while a recall rings: the ringing phone gets CANCEL before parkd
// exits, rather than ringing on for a call that is gone.
func TestShutdownCancelsRingingRecall(t *testing.T) {
	r := startRecallRig(t, nil)
	r.recallDue(45 * time.Second)
	bobIn := ringing(t, r.bob)
	r.waitEvent(parkd.EventRecalling, "701")
	go r.daemon.shutdown()
	waitCanceled(t, "bob", bobIn)
}

// The recalled phone answers and hangs up before parkd has bridged it (its
// BYE is handled first): that step counts as unanswered, Alice stays
// parked, and no call that has ended lingers in the API as bridged.
func TestRecallAnsweredAndHungUpAtOnce(t *testing.T) {
	r := startRecallRig(t, nil)
	release := make(chan struct{})
	parkd.SetAnsweredHook(r.srv, holdAnswerUntilEnded(release))
	r.recallDue(45 * time.Second)
	bobCall := answer(t, ringing(t, r.bob))
	if res, err := bobCall.Hangup(ctxFor(t, 5*time.Second)); err != nil || res.StatusCode != 200 {
		t.Fatalf("Bob's BYE: %v %v", res, err)
	}
	close(release)

	ev := r.waitEvent(parkd.EventRecallFailed, "701")
	if !strings.Contains(ev.Detail, "answered and hung up at once") {
		t.Errorf("recall_failed detail %q, want it to say the phone hung up at once", ev.Detail)
	}
	r.aliceStillParkedAlone(t, "the recall that hung up")
}

// The same for an attendant's retrieve: the phone it rang answers and
// hangs up before parkd bridges it, and the call stays parked.
func TestRetrieveAnsweredAndHungUpAtOnce(t *testing.T) {
	r := startRecallRig(t, nil)
	release := make(chan struct{})
	parkd.SetAnsweredHook(r.srv, holdAnswerUntilEnded(release))
	carol := siptest.NewPhone(t, "carol")
	if _, err := r.srv.Retrieve(ctxFor(t, time.Second), "701", parkd.RetrieveRequest{To: carol.URI()}); err != nil {
		t.Fatal(err)
	}
	carolCall := answer(t, ringing(t, carol))
	if res, err := carolCall.Hangup(ctxFor(t, 5*time.Second)); err != nil || res.StatusCode != 200 {
		t.Fatalf("Carol's BYE: %v %v", res, err)
	}
	close(release)

	ev := r.waitEvent(parkd.EventRingFailed, "701")
	if !strings.Contains(ev.Detail, "answered and hung up at once") {
		t.Errorf("ring_failed detail %q, want it to say the phone hung up at once", ev.Detail)
	}
	r.aliceStillParkedAlone(t, "the retrieve that hung up")
}

// aliceStillParkedAlone: after a call parkd placed for Alice was answered
// and hung up at once, Alice is still parked in 701, up, hearing music,
// and the API lists no call but hers (not the one that ended).
func (r *recallRig) aliceStillParkedAlone(t *testing.T, after string) {
	t.Helper()
	if v := r.slot("701"); v.Call == nil || v.Call.CallID != r.parked.CallID() || v.State != parkd.SlotParked {
		t.Errorf("slot 701 after %s: %s %+v, want Alice's call parked", after, v.State, v.Call)
	}
	if r.parked.HungUp() {
		t.Errorf("Alice was hung up after %s", after)
	}
	calls, err := r.srv.Calls(ctxFor(t, time.Second), parkd.CallFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0].CallID != r.parked.CallID() {
		t.Errorf("after %s the API lists %+v, want Alice's call alone", after, calls)
	}
	hearsMusic(t, r.parked, "Alice after "+after)
}

// holdAnswerUntilEnded holds parkd back with an answered call until
// release closes and parkd has seen that call end: the phone's BYE is
// answered a moment before parkd is done ending the call.
func holdAnswerUntilEnded(release <-chan struct{}) func(*sipcore.Call) {
	return func(c *sipcore.Call) {
		<-release
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
		}
	}
}
