package parkd_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/store"
	"github.com/parkd/parkd/sipcore/siptest"
)

// Every effective value says which layer set it: built-in, defaults, the
// lot (its kazoo: object included), the slot, a live override.
func TestPolicyProvenance(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) {
		c.Defaults = parkd.Policy{MaxRecalls: ptr(5)}
		c.Lots[0].Policy = parkd.Policy{RingParkerFor: ptr(parkd.Duration(20 * time.Second))}
		c.Lots[0].Kazoo = map[string]any{
			"default_ringback_timeout": 120000,
			"slots":                    map[string]any{"702": map[string]any{"ringback_timeout": 25000, "presence_type": "confirmed"}},
		}
		c.Lots[0].SlotPolicies = map[string]parkd.Policy{"703": {OnFailure: ptr(parkd.FailureHangup)}}
	})
	if err := d.srv.SetPolicy(context.Background(), parkd.SlotScope("704"), parkd.Policy{RecallAfter: ptr(parkd.Duration(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		slot, field string
		value       string
		layer, key  string
	}{
		{"701", "recall_after", "2m", parkd.LayerLot, "lots[0].kazoo.default_ringback_timeout"},
		{"701", "ring_parker_for", "20s", parkd.LayerLot, "lots[0].policy.ring_parker_for"},
		{"701", "max_recalls", "5", parkd.LayerDefaults, "defaults.max_recalls"},
		{"701", "on_failure", "repark", parkd.LayerBuiltin, "builtin"},
		{"702", "recall_after", "25s", parkd.LayerSlot, "lots[0].kazoo.slots.702.ringback_timeout"},
		{"702", "presence_type", "confirmed", parkd.LayerSlot, "lots[0].kazoo.slots.702.presence_type"},
		{"703", "on_failure", "hangup", parkd.LayerSlot, `lots[0].slot_policies.703.on_failure`},
		{"704", "recall_after", "1m", parkd.LayerOverride, "override slot/704"},
	}
	for _, tt := range tests {
		eff, err := d.srv.SlotPolicy(tt.slot)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{
			"recall_after": eff.Policy.RecallAfter.String(), "ring_parker_for": eff.Policy.RingParkerFor.String(),
			"max_recalls": strconv.Itoa(*eff.Policy.MaxRecalls), "on_failure": *eff.Policy.OnFailure, "presence_type": *eff.Policy.PresenceType,
		}[tt.field]
		src := eff.Sources[tt.field]
		if got != tt.value || src.Layer != tt.layer || src.Key != tt.key {
			t.Errorf("slot %s %s = %s from %+v, want %s from %s %s", tt.slot, tt.field, got, src, tt.value, tt.layer, tt.key)
		}
	}
}

// Live overrides are checked, applied, announced, kept in the store and
// back after a restart.
func TestPolicyOverrideSurvivesRestart(t *testing.T) {
	data := t.TempDir()
	edit := func(c *parkd.Config) { c.Data = data }
	d := startDaemon(t, edit)
	ctx := context.Background()

	var pe *parkd.PolicyError
	if err := d.srv.SetPolicy(ctx, parkd.SlotScope("701"), parkd.Policy{RecallAfter: ptr(parkd.Duration(time.Second))}); !errors.As(err, &pe) || pe.Key != "recall_after" {
		t.Errorf("out-of-range override: error %v, want a PolicyError on recall_after", err)
	}
	if err := d.srv.SetPolicy(ctx, parkd.SlotScope("799"), parkd.Policy{MaxRecalls: ptr(1)}); err == nil {
		t.Error("override of a slot that does not exist was accepted")
	}
	if err := d.srv.SetPolicy(ctx, parkd.ScopeDefaults, parkd.Policy{OnFailure: ptr(parkd.FailureForward)}); err == nil || !strings.Contains(err.Error(), "forward_to") {
		t.Errorf("forward without forward_to: error %v, want it to name forward_to", err)
	}

	set := parkd.Policy{RecallAfter: ptr(parkd.Duration(20 * time.Second)), PresenceType: ptr(parkd.PresenceConfirmed), RingGroup: []string{}}
	if err := d.srv.SetPolicy(ctx, parkd.SlotScope("701"), set); err != nil {
		t.Fatal(err)
	}
	ev := d.waitEvent(parkd.EventPolicy, "701")
	if ev.Policy == nil || ev.Policy.RecallAfter.D() != 20*time.Second {
		t.Errorf("policy event %+v, want recall_after 20s", ev.Policy)
	}
	if err := d.srv.SetPolicy(ctx, parkd.LotScope("main"), parkd.Policy{MaxRecalls: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	d.shutdown()

	again := startDaemon(t, edit)
	eff, err := again.srv.SlotPolicy("701")
	if err != nil {
		t.Fatal(err)
	}
	if eff.Policy.RecallAfter.D() != 20*time.Second || *eff.Policy.PresenceType != parkd.PresenceConfirmed || *eff.Policy.MaxRecalls != 1 {
		t.Errorf("after restart slot 701 policy = %s/%s/%d, want 20s/confirmed/1", eff.Policy.RecallAfter, *eff.Policy.PresenceType, *eff.Policy.MaxRecalls)
	}
	if src := eff.Sources["recall_after"]; src.Layer != parkd.LayerOverride {
		t.Errorf("recall_after comes from %+v after restart, want the override", src)
	}
	if got := again.srv.Overrides()[parkd.SlotScope("701")]; got.RingGroup == nil {
		t.Error("ring_group: [] came back as unset")
	}

	// The restored presence_type drives BLF from the first NOTIFY on.
	watcher := siptest.NewPhone(t, "watcher")
	sub := again.subscribe(watcher, "701", 200, siptest.SubscribeOptions{Expires: 600})
	nextDialogInfo(t, sub)
	again.dial(siptest.NewPhone(t, "alice"), "701", 200, siptest.CallOptions{})
	_, info := nextDialogInfo(t, sub)
	if len(info.Dialogs) != 1 || info.Dialogs[0].State != "confirmed" {
		t.Errorf("dialogs after park = %+v, want one confirmed (the override)", info.Dialogs)
	}

	// Removing an override brings back the layer below.
	if err := again.srv.SetPolicy(ctx, parkd.SlotScope("701"), parkd.Policy{}); err != nil {
		t.Fatal(err)
	}
	if eff, _ := again.srv.SlotPolicy("701"); eff.Policy.RecallAfter.D() != 45*time.Second {
		t.Errorf("recall_after after removing the override = %s, want 45s", eff.Policy.RecallAfter)
	}
}

// Every step of a parked call's life is a history row with its caller,
// parker, outcome and how long it had been parked.
func TestHistoryRows(t *testing.T) {
	r := startRecallRig(t, func(c *parkd.Config, _ *recallRig) {
		c.Defaults.RecallTo = ptr(parkd.RecallParkerOnly)
	})
	r.recallDue(45 * time.Second)
	in := ringing(t, r.bob)
	r.waitEvent(parkd.EventRecalling, "701")
	r.clock.Advance(30 * time.Second)
	waitCanceled(t, "bob", in)
	r.waitEvent(parkd.EventReparked, "701")
	r.clock.Advance(10 * time.Second)
	r.parked.Hangup(ctxFor(t, 5*time.Second))
	r.waitEvent(parkd.EventAbandoned, "701")

	rows, err := r.srv.HistoryRows(ctxFor(t, 5*time.Second), store.HistoryQuery{Slot: "701"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		outcome string
		parked  time.Duration
	}{ // newest first
		{"abandoned", 85 * time.Second},
		{"reparked", 75 * time.Second},
		{"recall_failed", 75 * time.Second},
		{"recalling", 45 * time.Second},
		{"parked", 0},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d history rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		row := rows[i]
		if row.Outcome != w.outcome || row.Parked != w.parked || row.Lot != "main" || row.CallID != r.parked.CallID() ||
			!strings.Contains(row.Caller, "Alice") || !strings.Contains(row.Parker, "bob@") {
			t.Errorf("row %d = %+v, want %s after %s with caller Alice and parker bob", i, row, w.outcome, w.parked)
		}
	}
}

// Patches of different keys sent at once (two consoles, a script) all land:
// none reads the override before another's write and puts the old back.
func TestConcurrentPatchesAllLand(t *testing.T) {
	d := startDaemon(t, nil)
	ctx := context.Background()
	patches := []parkd.Policy{
		{RecallAfter: ptr(parkd.Duration(time.Minute))},
		{RingParkerFor: ptr(parkd.Duration(20 * time.Second))},
		{MaxRecalls: ptr(7)},
		{RingGroupFor: ptr(parkd.Duration(40 * time.Second))},
		{OnFailure: ptr(parkd.FailureHangup)},
		{PresenceType: ptr("confirmed")},
	}
	var wg sync.WaitGroup
	for _, p := range patches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.srv.PatchPolicy(ctx, "slots/705", parkd.PolicyPatch{Set: p}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	eff, err := d.srv.SlotPolicy("705")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"recall_after", "ring_parker_for", "max_recalls", "ring_group_for", "on_failure", "presence_type"} {
		if src := eff.Sources[key]; src.Layer != parkd.LayerOverride {
			t.Errorf("%s comes from %+v: a concurrent patch lost it", key, src)
		}
	}
}
