package parkd_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/media"
	"github.com/parkd/parkd/sipcore/siptest"
)

// reloadLot is the lot these tests start with: main, 701-703, music at once.
func reloadLot(c *parkd.Config) {
	c.Lots[0].Slots = "701-703"
	c.Lots[0].AnnounceSlot = new(bool)
}

// salesLot is a second lot for reloads to add: sales, parked into at 800,
// no retrieve or attendant extension.
func salesLot(slots string) parkd.LotConfig {
	l := parkd.DefaultLot()
	l.Name, l.Extension, l.RetrieveExtension, l.Slots, l.AttendantExtension = "sales", "800", "", slots, ""
	return l
}

// reload applies edit to the daemon's running config and fails unless it is taken.
func (d *daemon) reload(edit func(*parkd.Config)) parkd.ReloadResult {
	d.t.Helper()
	cfg := d.srv.Config()
	edit(&cfg)
	res, err := d.srv.Apply(context.Background(), cfg)
	if err != nil {
		d.t.Fatalf("reload: %v", err)
	}
	return res
}

// A reload that changes a lot's policy, removes a slot holding a call and
// adds a lot keeps every parked call: the kept slot follows the new policy,
// the removed one stays retrievable (retired) and goes when its call does.
func TestReloadKeepsParkedCalls(t *testing.T) {
	d := startDaemon(t, reloadLot)
	alice := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	bob := d.dial(siptest.NewPhone(t, "bob"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "702")
	watcher := d.subscribe(siptest.NewPhone(t, "carol"), "702", 200, siptest.SubscribeOptions{Expires: 600})
	nextDialogInfo(t, watcher)

	res := d.reload(func(c *parkd.Config) {
		c.Lots[0].Slots = "701-701"
		c.Lots[0].Policy.RecallAfter = ptr(parkd.Duration(5 * time.Minute))
		sales := salesLot("801-803")
		sales.AnnounceSlot = new(bool)
		c.Lots = append(c.Lots, sales)
	})
	if want := []string{"main", "sales"}; !slices.Equal(res.Lots, want) {
		t.Errorf("lots after reload %v, want %v", res.Lots, want)
	}
	if !slices.Equal(res.Added, []string{"801", "802", "803"}) || !slices.Equal(res.Retired, []string{"702"}) || !slices.Equal(res.Removed, []string{"703"}) {
		t.Errorf("added %v retired %v removed %v; want [801 802 803] [702] [703]", res.Added, res.Retired, res.Removed)
	}
	if !slices.Contains(res.Changed, "lots") {
		t.Errorf("changed %v does not name lots", res.Changed)
	}
	ev := d.waitEvent(parkd.EventPolicy, "701")
	if ev.Policy == nil || ev.Policy.RecallAfter.D() != 5*time.Minute {
		t.Errorf("policy event for 701: %+v, want recall_after 5m", ev.Policy)
	}

	// Both callers still hear music; 702 is shown retired with its call.
	hearsMusic(t, alice, "after the reload")
	hearsMusic(t, bob, "after the reload")
	if v := d.slot("702"); !v.Retired || v.State != parkd.SlotParked || v.Call == nil {
		t.Errorf("slot 702 after reload: %+v, want retired and parked", v)
	}
	if _, err := d.srv.Slot(context.Background(), "703"); err == nil {
		t.Error("slot 703 (removed, empty) is still there")
	}
	p, err := d.srv.SlotPolicy("701")
	if err != nil || p.Policy.RecallAfter.D() != 5*time.Minute {
		t.Errorf("701's policy after reload: %v %v, want recall_after 5m", p.Policy.RecallAfter, err)
	}

	// The new lot parks; the retired slot parks nobody new.
	d.dial(siptest.NewPhone(t, "dave"), "800", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "801")
	d.dial(siptest.NewPhone(t, "erin"), "700", 486, siptest.CallOptions{})

	// Retrieving the retired slot bridges its call; then the slot goes, its
	// watcher sees it empty and its subscription ends (noresource).
	d.dial(siptest.NewPhone(t, "frank"), "702", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventRetrieved, "702")
	d.waitEvent(parkd.EventRemoved, "702")
	if _, err := d.srv.Slot(context.Background(), "702"); err == nil {
		t.Error("slot 702 is still there after its call left")
	}
	for {
		n, info := nextDialogInfo(t, watcher)
		if n.State == "terminated" {
			if n.Reason != "noresource" || len(info.Dialogs) != 0 {
				t.Errorf("final NOTIFY: reason %q with %d dialogs, want noresource and none", n.Reason, len(info.Dialogs))
			}
			break
		}
	}
}

// A config with errors changes nothing: the error names the problem, the
// lots stay, the parked call keeps its music and BLF keeps working.
func TestReloadRefusesBrokenConfig(t *testing.T) {
	var log logBuffer
	d := startDaemonLogging(t, slog.New(slog.NewTextHandler(&log, nil)), reloadLot)
	alice := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	watcher := d.subscribe(siptest.NewPhone(t, "carol"), "702", 200, siptest.SubscribeOptions{Expires: 600})
	nextDialogInfo(t, watcher)

	cfg := d.srv.Config()
	cfg.Lots[0].Slots = "7x1-703"
	cfg.SIP.Allow = []string{"10.0.0.0/8"}
	_, err := d.srv.Apply(context.Background(), cfg)
	if err == nil || parkd.ErrorCode(err) != parkd.CodeInvalidConfig || !strings.Contains(err.Error(), "lots[0].slots") {
		t.Fatalf("broken reload: %v (code %q), want invalid_config naming lots[0].slots", err, parkd.ErrorCode(err))
	}
	if len(log.lines("level=ERROR", "config reload refused", "lots[0].slots")) != 1 {
		t.Errorf("the refused reload was not logged as an error naming lots[0].slots:\n%s", log.buf.String())
	}
	hearsMusic(t, alice, "after the reload")
	if got := d.srv.Config(); got.Lots[0].Slots != "701-703" || got.SIP.Allow[0] != "127.0.0.0/8" {
		t.Errorf("running config changed by a refused reload: slots %q allow %v", got.Lots[0].Slots, got.SIP.Allow)
	}
	d.dial(siptest.NewPhone(t, "bob"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "702")
	if _, info := nextDialogInfo(t, watcher); len(info.Dialogs) != 1 {
		t.Errorf("BLF after a refused reload: %d dialogs for 702, want 1", len(info.Dialogs))
	}
}

// Music, allow list and presence_id change at once: the parked caller hears
// the new music, a source no longer allowed is refused, and watchers of the
// old presence_id are told it is gone while the new one shows the call.
func TestReloadChangesMusicAccessAndBLF(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) {
		reloadLot(c)
		c.Lots[0].Policy.PresenceID = ptr("reception")
	})
	alice := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{Codecs: []string{"PCMU"}})
	d.waitEvent(parkd.EventParked, "701")
	old := d.subscribe(siptest.NewPhone(t, "carol"), "reception", 200, siptest.SubscribeOptions{Expires: 600})
	nextDialogInfo(t, old)

	samples := make([]int16, 8000)
	for i := range samples {
		samples[i] = 1000
	}
	wav := wav16(t, 8000, samples)
	res := d.reload(func(c *parkd.Config) {
		c.MOH = wav
		c.Lots[0].Policy.PresenceID = ptr("frontdesk")
		c.SIP.Allow = []string{"127.0.0.1/32"}
	})
	for _, k := range []string{"moh", "lots", "sip.allow"} {
		if !slices.Contains(res.Changed, k) {
			t.Errorf("changed %v does not name %s", res.Changed, k)
		}
	}

	want := bytes.Repeat([]byte{media.EncodeUlaw(1000)}, 160)
	deadline := time.Now().Add(2 * time.Second)
	for {
		alice.RTP.Drain()
		pkts, err := alice.RTP.Collect(ctxFor(t, 2*time.Second), 5, nil)
		if err != nil {
			t.Fatalf("no music after the reload: %v", err)
		}
		if bytes.Equal(pkts[len(pkts)-1].Payload, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the parked caller still hears the old music after the reload")
		}
	}

	for {
		n := nextNotify(t, old)
		if n.State == "terminated" {
			if n.Reason != "noresource" {
				t.Errorf("old presence_id's subscription ended with %q, want noresource", n.Reason)
			}
			break
		}
	}
	fresh := d.subscribe(siptest.NewPhone(t, "carol"), "frontdesk", 200, siptest.SubscribeOptions{Expires: 600})
	if _, info := nextDialogInfo(t, fresh); len(info.Dialogs) != 1 {
		t.Errorf("new presence_id shows %d dialogs, want the parked call", len(info.Dialogs))
	}

	stranger := siptest.NewPhone(t, "mallory", siptest.WithHost("127.0.0.2"))
	d.dial(stranger, "700", 403, siptest.CallOptions{})
}

// Keys bound at start keep their running values and are named.
func TestReloadNamesKeysThatNeedARestart(t *testing.T) {
	d := startDaemon(t, reloadLot)
	before := d.srv.Config()
	res := d.reload(func(c *parkd.Config) {
		c.RTP.Ports = "40000-40099"
		c.SIP.Listen = []string{"udp://127.0.0.1:5999"}
	})
	if !slices.Equal(res.NeedsRestart, []string{"sip.listen", "rtp.ports"}) || len(res.Changed) != 0 {
		t.Errorf("needs restart %v, changed %v; want [sip.listen rtp.ports] and nothing", res.NeedsRestart, res.Changed)
	}
	after := d.srv.Config()
	if after.RTP.Ports != before.RTP.Ports || !slices.Equal(after.SIP.Listen, before.SIP.Listen) {
		t.Errorf("start-bound keys changed in the running config: %v %v", after.RTP.Ports, after.SIP.Listen)
	}
	d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
}

// sip.auth users change at once: a reload that adds them challenges the
// next unauthenticated INVITE (401) and lets a phone with the password
// park; a reload that removes them opens parkd again.
func TestReloadChangesAuthUsers(t *testing.T) {
	d := startDaemon(t, reloadLot)
	d.dial(siptest.NewPhone(t, "mallory"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")

	d.reload(withAuth)
	d.dial(siptest.NewPhone(t, "mallory"), "700", 401, siptest.CallOptions{})
	d.dial(siptest.NewPhone(t, "alice", siptest.WithCredentials("alice", alicePassword)), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "702")

	d.reload(func(c *parkd.Config) { c.SIP.Auth.Users = nil })
	d.dial(siptest.NewPhone(t, "mallory"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "703")
}

// A call waiting in a lot's attendant queue keeps its place across a
// reload, and parking it afterwards uses the lot as the new config has it.
func TestReloadKeepsTheAttendantQueue(t *testing.T) {
	d := startDaemon(t, reloadLot)
	d.dial(siptest.NewPhone(t, "alice"), "0", 200, siptest.CallOptions{})
	ev := d.waitEvent(parkd.EventQueued, "")
	d.reload(func(c *parkd.Config) { c.Lots[0].Slots = "705-706" })
	queued, err := d.srv.Calls(context.Background(), parkd.CallFilter{State: parkd.CallQueued})
	if err != nil || len(queued) != 1 || queued[0].ID != ev.Call.ID || queued[0].Lot != "main" {
		t.Fatalf("queue after reload: %+v %v, want alice's call in main", queued, err)
	}
	v, err := d.srv.Park(context.Background(), ev.Call.ID, parkd.ParkRequest{})
	if err != nil || v.Slot != "705" {
		t.Fatalf("parking the queued call after the reload: %+v %v, want slot 705", v, err)
	}
}

// A reload that restricts a lot (retrieve_allow) ends the subscriptions
// that see its detail with "deactivated"; the phone subscribes again and
// now gets the state alone, with nothing a pickup could use.
func TestReloadRestrictingALotResortsWatchers(t *testing.T) {
	d := startDaemon(t, reloadLot)
	d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	bob := siptest.NewPhone(t, "bob")
	sub := d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Expires: 600})
	if _, info := nextDialogInfo(t, sub); len(info.Dialogs) != 1 || info.Dialogs[0].CallID == "" {
		t.Fatalf("before the reload bob sees %+v, want the call with its call-id", info.Dialogs)
	}

	d.reload(func(c *parkd.Config) { c.Lots[0].RetrieveAllow = []string{"carol"} })
	// Ended before anything is published under the new rule: the next
	// NOTIFY bob gets is the last, and no later call reaches him.
	if n := nextNotify(t, sub); n.State != "terminated" || n.Reason != "deactivated" {
		t.Errorf("bob's first NOTIFY after the reload: %s;reason=%s, want terminated;reason=deactivated", n.State, n.Reason)
	}
	d.dial(siptest.NewPhone(t, "dave"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "702")
	if n, err := sub.Next(ctxFor(t, 300*time.Millisecond)); err == nil {
		t.Errorf("bob's ended subscription got another NOTIFY: %s %s", n.State, n.Body)
	}
	again := d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Expires: 600})
	if _, info := nextDialogInfo(t, again); len(info.Dialogs) != 1 || info.Dialogs[0].CallID != "" || info.Dialogs[0].Remote != nil {
		t.Errorf("after the reload bob sees %+v, want the state alone", info.Dialogs)
	}
}

// A live override of a slot the reload removed can still be cleared.
func TestReloadLeavesStaleOverridesClearable(t *testing.T) {
	d := startDaemon(t, reloadLot)
	ctx := context.Background()
	if err := d.srv.SetPolicy(ctx, parkd.SlotScope("703"), parkd.Policy{RecallAfter: ptr(parkd.Duration(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	d.reload(func(c *parkd.Config) { c.Lots[0].Slots = "701-702" })
	if err := d.srv.SetPolicy(ctx, parkd.SlotScope("703"), parkd.Policy{RecallAfter: ptr(parkd.Duration(2 * time.Minute))}); err == nil {
		t.Error("a new override for a slot the config no longer has was taken")
	}
	if err := d.srv.SetPolicy(ctx, parkd.SlotScope("703"), parkd.Policy{}); err != nil {
		t.Errorf("clearing the override of a removed slot: %v", err)
	}
	if _, ok := d.srv.Overrides()[parkd.SlotScope("703")]; ok {
		t.Error("the override of the removed slot is still there")
	}
}

// A reload that lifts a lot's restriction ends the state-only watchers
// with "deactivated" (not noresource: the slot is still there), and a new
// subscription sees the detail.
func TestReloadLiftingARestrictionResortsWatchers(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) {
		reloadLot(c)
		c.Lots[0].RetrieveAllow = []string{"carol"}
	})
	d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	bob := siptest.NewPhone(t, "bob")
	sub := d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Expires: 600})
	if _, info := nextDialogInfo(t, sub); len(info.Dialogs) != 1 || info.Dialogs[0].CallID != "" {
		t.Fatalf("before the reload bob sees %+v, want the state alone", info.Dialogs)
	}
	d.reload(func(c *parkd.Config) { c.Lots[0].RetrieveAllow = nil })
	if n := nextNotify(t, sub); n.State != "terminated" || n.Reason != "deactivated" {
		t.Errorf("bob's state-only subscription after the reload: %s;reason=%s, want terminated;reason=deactivated", n.State, n.Reason)
	}
	again := d.subscribe(bob, "701", 200, siptest.SubscribeOptions{Expires: 600})
	if _, info := nextDialogInfo(t, again); len(info.Dialogs) != 1 || info.Dialogs[0].CallID == "" {
		t.Errorf("after the reload bob sees %+v, want the call with its call-id", info.Dialogs)
	}
}

// A queued call whose lot one reload removes and the next brings back is
// in that lot's queue again, and a call being answered for the queue
// during a reload still counts against queue_max.
func TestReloadRemovedThenRestoredLotKeepsItsQueue(t *testing.T) {
	d := startDaemon(t, reloadLot)
	d.dial(siptest.NewPhone(t, "alice"), "0", 200, siptest.CallOptions{})
	ev := d.waitEvent(parkd.EventQueued, "")
	sales := func(c *parkd.Config) {
		c.Lots[0] = salesLot("801-802")
		c.Lots[0].AttendantExtension = "9"
	}
	d.reload(sales)
	d.reload(func(c *parkd.Config) {}) // the running config again: main is still gone
	cfg := d.srv.Config()
	main := parkd.DefaultLot()
	main.Slots = "701-703"
	cfg.Lots = append(cfg.Lots, main)
	if _, err := d.srv.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	lots, err := d.srv.Lots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lots {
		if l.Name == "main" && l.Queued != 1 {
			t.Errorf("main queues %d calls after coming back, want alice's", l.Queued)
		}
	}
	queued, _ := d.srv.Calls(context.Background(), parkd.CallFilter{State: parkd.CallQueued})
	if len(queued) != 1 || queued[0].ID != ev.Call.ID || queued[0].Position != 1 {
		t.Errorf("queued calls %+v, want alice's at position 1", queued)
	}
}

// Policy changes and reloads at once: each sees whole lots (run with -race).
func TestReloadDuringPolicyChanges(t *testing.T) {
	d := startDaemon(t, reloadLot)
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			p := parkd.Policy{RecallAfter: ptr(parkd.Duration(time.Duration(60+i) * time.Second))}
			if err := d.srv.SetPolicy(ctx, parkd.ScopeDefaults, p); err != nil {
				t.Errorf("SetPolicy: %v", err)
				return
			}
		}
	}()
	for i := range 20 {
		slots := []string{"701-705", "701-703"}[i%2]
		d.reload(func(c *parkd.Config) { c.Lots[0].Slots = slots })
	}
	<-done
	p, err := d.srv.SlotPolicy("701")
	if err != nil || p.Policy.RecallAfter.D() != 79*time.Second {
		t.Errorf("701's recall_after after the changes: %v %v, want the last override, 1m19s", p.Policy.RecallAfter, err)
	}
}

// A call queued in a lot that a reload removed is parked by the API into
// the first lot in force.
func TestReloadParksTheQueueOfARemovedLotIntoTheFirstLot(t *testing.T) {
	d := startDaemon(t, reloadLot)
	d.dial(siptest.NewPhone(t, "alice"), "0", 200, siptest.CallOptions{})
	ev := d.waitEvent(parkd.EventQueued, "")
	d.reload(func(c *parkd.Config) { c.Lots[0] = salesLot("801-802") })
	v, err := d.srv.Park(context.Background(), ev.Call.ID, parkd.ParkRequest{})
	if err != nil || v.Slot != "801" || v.Lot != "sales" {
		t.Fatalf("parking the queued call of the removed lot: %+v %v, want 801 in sales", v, err)
	}
}

// Slots a reload moves into another lot are that lot's to retrieve, the
// longest waiting first, and only that lot's; a retired slot is neither.
func TestReloadMovedSlotsAreRetrievedFromTheirNewLot(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) {
		reloadLot(c)
		c.Lots[0].Slots = "701-704"
	})
	for i, name := range []string{"alice", "bob", "carol", "dave"} {
		d.dial(siptest.NewPhone(t, name), "700", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventParked, strconv.Itoa(701+i))
	}
	d.reload(func(c *parkd.Config) {
		c.Lots[0].Slots = "701-701"
		sales := salesLot("703-704")
		sales.RetrieveExtension = "*800"
		c.Lots = append(c.Lots, sales)
	})
	d.dial(siptest.NewPhone(t, "erin"), "702", 200, siptest.CallOptions{}) // retired
	d.waitEvent(parkd.EventRetrieved, "702")
	for _, want := range []string{"703", "704"} {
		d.dial(siptest.NewPhone(t, "erin"), "*800", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventRetrieved, want)
	}
	d.dial(siptest.NewPhone(t, "erin"), "*800", 404, siptest.CallOptions{})
	d.dial(siptest.NewPhone(t, "frank"), "*700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventRetrieved, "701")
	d.dial(siptest.NewPhone(t, "frank"), "*700", 404, siptest.CallOptions{})
}

// rtp.max_relay_delay is in force from the start and changes with a
// reload. The values are ones no test's audio comes near, as the setting
// is the process's and other tests relay meanwhile.
func TestMaxRelayDelayAppliedAtStartAndReload(t *testing.T) {
	t.Cleanup(func() { media.SetMaxRelayDelay(media.DefaultMaxRelayDelay) })
	d := startDaemon(t, func(c *parkd.Config) { c.RTP.MaxRelayDelay = parkd.Duration(10 * time.Second) })
	if got := media.MaxRelayDelay(); got != 10*time.Second {
		t.Fatalf("max relay delay %v after start, want 10s", got)
	}
	res := d.reload(func(c *parkd.Config) { c.RTP.MaxRelayDelay = 0 })
	if got := media.MaxRelayDelay(); got != 0 {
		t.Errorf("max relay delay %v after a reload to 0, want 0", got)
	}
	if !slices.Contains(res.Changed, "rtp.max_relay_delay") {
		t.Errorf("changed %v does not name rtp.max_relay_delay", res.Changed)
	}
	if parkd.DefaultConfig().RTP.MaxRelayDelay.D() != media.DefaultMaxRelayDelay {
		t.Errorf("the config's default %v is not media's %v", parkd.DefaultConfig().RTP.MaxRelayDelay, media.DefaultMaxRelayDelay)
	}
}
