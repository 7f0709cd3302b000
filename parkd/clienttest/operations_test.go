package clienttest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/clienttest"
	"github.com/parkd/parkd/sipcore/siptest"
)

// rig is one operation's daemon, client and phones.
type rig struct {
	*clienttest.Daemon
	t     *testing.T
	c     parkd.Client
	alice *siptest.Phone // a caller
	bob   *siptest.Phone // the operator's phone
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestOperations runs every Client operation against a real daemon with
// real SIP calls behind it, once per implementation.
func TestOperations(t *testing.T) {
	ops := []struct {
		name string
		run  func(r *rig)
	}{
		{"queue then park: the caller hears music in the slot", opQueueThenPark},
		{"retrieve to a phone that answers: audio both ways", opRetrieveAnswered},
		{"retrieve unanswered: the call stays parked", opRetrieveUnanswered},
		{"move to another slot", opMove},
		{"transfer a queued call to the operator", opTransferQueued},
		{"hangup a parked call", opHangup},
		{"park a bridged call: the other leg is hung up", opParkBridged},
		{"policy patch and clear", opPolicy},
		{"history pages", opHistory},
		{"errors have stable codes", opErrors},
		{"transfer a bridged call: the new pair talks", opTransferBridged},
		{"the caller leaves while a retrieve rings: the slot works again", opCallerLeavesDuringRetrieve},
	}
	for _, impl := range clienttest.Clients {
		t.Run(impl.Name, func(t *testing.T) {
			for _, op := range ops {
				t.Run(op.name, func(t *testing.T) {
					t.Parallel()
					r := &rig{t: t}
					r.alice = siptest.NewPhone(t, "alice", siptest.WithDisplay("Alice"))
					r.bob = siptest.NewPhone(t, "bob", siptest.WithDisplay("Bob"))
					r.Daemon = clienttest.Start(t, func(c *parkd.Config) {
						c.Lots[0].Operator = r.bob.URI()
					})
					r.c = impl.Of(r.Daemon)
					op.run(r)
				})
			}
		})
	}
}

// queued dials the attendant extension and returns the call and its id.
func (r *rig) queued(p *siptest.Phone) (*siptest.Call, string) {
	r.t.Helper()
	call := r.Dial(p, "0", 200, siptest.CallOptions{})
	ev := r.WaitEvent(parkd.EventQueued, "")
	return call, ev.Call.ID
}

// parked dials the park extension and returns the call and its id.
func (r *rig) parked(p *siptest.Phone, slot string) (*siptest.Call, string) {
	r.t.Helper()
	call := r.Dial(p, "700", 200, siptest.CallOptions{})
	ev := r.WaitEvent(parkd.EventParked, slot)
	return call, ev.Call.ID
}

func (r *rig) answer(p *siptest.Phone) *siptest.Call {
	r.t.Helper()
	in, err := p.Incoming(ctx(r.t))
	if err != nil {
		r.t.Fatalf("%s never rang: %v", p.User, err)
	}
	c, err := in.Answer(ctx(r.t))
	if err != nil {
		r.t.Fatalf("%s answering: %v", p.User, err)
	}
	return c
}

func (r *rig) must(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

func opQueueThenPark(r *rig) {
	t := r.t
	call, id := r.queued(r.alice)
	calls, err := r.c.Calls(ctx(t), parkd.CallFilter{State: parkd.CallQueued})
	r.must(err)
	if len(calls) != 1 || calls[0].ID != id || calls[0].Position != 1 || calls[0].Caller.Display != "Alice" || calls[0].Lot != "main" {
		t.Fatalf("queued calls = %+v, want Alice at position 1 in main", calls)
	}
	clienttest.AssertMusic(t, call)

	v, err := r.c.Park(ctx(t), id, parkd.ParkRequest{})
	r.must(err)
	if v.State != parkd.CallParked || v.Slot != "701" || v.ID != id {
		t.Fatalf("park answered %+v, want call %s parked in 701", v, id)
	}
	r.WaitEvent(parkd.EventDequeued, "")
	sl, err := r.c.Slot(ctx(t), "701")
	r.must(err)
	if sl.State != parkd.SlotParked || sl.Call == nil || sl.Call.ID != id || sl.Call.RecallAt == nil {
		t.Fatalf("slot 701 = %+v, want Alice parked with a recall time", sl)
	}
	if calls, _ := r.c.Calls(ctx(t), parkd.CallFilter{State: parkd.CallQueued}); len(calls) != 0 {
		t.Errorf("queue still holds %+v", calls)
	}
	clienttest.AssertMusic(t, call)
}

func opRetrieveAnswered(r *rig) {
	t := r.t
	call, id := r.parked(r.alice, "701")
	carol := siptest.NewPhone(t, "carol")
	v, err := r.c.Retrieve(ctx(t), "701", parkd.RetrieveRequest{To: carol.URI()})
	r.must(err)
	if v.State != parkd.SlotRetrieving || v.Call == nil || v.Call.RingingTo != carol.URI() {
		t.Fatalf("retrieve answered %+v, want 701 retrieving, ringing carol", v)
	}
	carolCall := r.answer(carol)
	ev := r.WaitEvent(parkd.EventRetrieved, "701")
	if ev.Call.ID != id {
		t.Errorf("retrieved event for %s, want %s", ev.Call.ID, id)
	}
	clienttest.AssertAudio(t, call, carolCall)
	clienttest.AssertAudio(t, carolCall, call)
	sl, err := r.c.Slot(ctx(t), "701")
	r.must(err)
	if sl.State != parkd.SlotFree || sl.Call != nil {
		t.Errorf("slot 701 = %+v after the retrieve, want free", sl)
	}
	bridged, err := r.c.Calls(ctx(t), parkd.CallFilter{State: parkd.CallBridged})
	r.must(err)
	if len(bridged) != 2 {
		t.Errorf("bridged calls = %+v, want Alice and Carol", bridged)
	}
}

func opRetrieveUnanswered(r *rig) {
	t := r.t
	_, id := r.parked(r.alice, "701")
	_, err := r.c.Retrieve(ctx(t), "701", parkd.RetrieveRequest{}) // the operator, bob
	r.must(err)
	in, err := r.bob.Incoming(ctx(t))
	r.must(err)
	r.must(in.Reject(486))
	ev := r.WaitEvent(parkd.EventRingFailed, "701")
	if !strings.Contains(ev.Detail, "486") {
		t.Errorf("ring_failed detail %q, want it to say 486", ev.Detail)
	}
	v, err := r.c.Call(ctx(t), id)
	r.must(err)
	if v.State != parkd.CallParked || v.Slot != "701" || v.Recalls != 0 || v.RecallAt == nil {
		t.Errorf("call after an unanswered retrieve = %+v, want still parked in 701, its recall still counting down, none started", v)
	}
}

func opMove(r *rig) {
	t := r.t
	call, id := r.parked(r.alice, "701")
	v, err := r.c.Move(ctx(t), "701", "705")
	r.must(err)
	if v.Slot != "705" || v.Call == nil || v.Call.ID != id || v.State != parkd.SlotParked {
		t.Fatalf("move answered %+v, want call %s in 705", v, id)
	}
	if ev := r.WaitEvent(parkd.EventMoved, "701"); ev.Detail != "to 705" {
		t.Errorf("moved detail %q", ev.Detail)
	}
	from, err := r.c.Slot(ctx(t), "701")
	r.must(err)
	if from.State != parkd.SlotFree {
		t.Errorf("701 after the move = %+v, want free", from)
	}
	clienttest.AssertMusic(t, call)
}

func opTransferQueued(r *rig) {
	t := r.t
	call, id := r.queued(r.alice)
	v, err := r.c.Transfer(ctx(t), id, "")
	r.must(err)
	if v.State != parkd.CallRinging || v.RingingTo != r.bob.URI() {
		t.Fatalf("transfer answered %+v, want ringing the operator %s", v, r.bob.URI())
	}
	bobCall := r.answer(r.bob)
	if ev := r.WaitEvent(parkd.EventDequeued, ""); !strings.Contains(ev.Detail, "connected") {
		t.Errorf("dequeued detail %q, want connected", ev.Detail)
	}
	clienttest.AssertAudio(t, call, bobCall)
	clienttest.AssertAudio(t, bobCall, call)
	got, err := r.c.Call(ctx(t), id)
	r.must(err)
	if got.State != parkd.CallBridged || got.Peer == "" {
		t.Errorf("call after transfer = %+v, want bridged", got)
	}
}

func opHangup(r *rig) {
	t := r.t
	call, id := r.parked(r.alice, "701")
	_, err := r.c.Hangup(ctx(t), id)
	r.must(err)
	if _, err := call.WaitHangup(ctx(t)); err != nil {
		t.Fatalf("Alice got no BYE: %v", err)
	}
	ev := r.WaitEvent(parkd.EventHungUp, "701")
	if ev.Detail != parkd.HangupByAttendant {
		t.Errorf("hungup detail %q, want %q", ev.Detail, parkd.HangupByAttendant)
	}
	if _, err := r.c.Call(ctx(t), id); parkd.ErrorCode(err) != parkd.CodeNoSuchCall {
		t.Errorf("the ended call: err %v, want no_such_call", err)
	}
}

func opParkBridged(r *rig) {
	t := r.t
	call, id := r.parked(r.alice, "701")
	bobCall := r.Dial(r.bob, "701", 200, siptest.CallOptions{}) // bob retrieves by dialling the slot
	r.WaitEvent(parkd.EventRetrieved, "701")
	v, err := r.c.Park(ctx(t), id, parkd.ParkRequest{Slot: "710"})
	r.must(err)
	if v.Slot != "710" || v.State != parkd.CallParked {
		t.Fatalf("park of the bridged call answered %+v, want parked in 710", v)
	}
	if _, err := bobCall.WaitHangup(ctx(t)); err != nil {
		t.Fatalf("bob's leg got no BYE: %v", err)
	}
	clienttest.AssertMusic(t, call)
}

func opPolicy(r *rig) {
	t := r.t
	two := parkd.Duration(2 * time.Minute)
	v, err := r.c.PatchPolicy(ctx(t), "slots/701", parkd.PolicyPatch{Set: parkd.Policy{RecallAfter: &two}})
	r.must(err)
	if v.Effective.RecallAfter.D() != 2*time.Minute || v.Sources["recall_after"].Layer != parkd.LayerOverride {
		t.Fatalf("after patch: recall_after %v from %+v, want 2m from the override", v.Effective.RecallAfter, v.Sources["recall_after"])
	}
	lot, err := r.c.Policy(ctx(t), "lots/main")
	r.must(err)
	if lot.Effective.RecallAfter.D() != 45*time.Second {
		t.Errorf("lot policy recall_after %v, want 45s: a slot override must not reach the lot", lot.Effective.RecallAfter)
	}
	v, err = r.c.PatchPolicy(ctx(t), "slots/701", parkd.PolicyPatch{Clear: []string{"recall_after"}})
	r.must(err)
	if v.Effective.RecallAfter.D() != 45*time.Second || v.Sources["recall_after"].Layer != parkd.LayerDefaults {
		t.Errorf("after clear: recall_after %v from %+v, want 45s from defaults", v.Effective.RecallAfter, v.Sources["recall_after"])
	}
	r.must(func() error {
		_, err := r.c.PatchPolicy(ctx(t), "defaults", parkd.PolicyPatch{Set: parkd.Policy{RecallAfter: &two}})
		return err
	}())
	v, err = r.c.ClearPolicy(ctx(t), "defaults")
	r.must(err)
	if !v.Override.IsZero() {
		t.Errorf("override after clear = %+v, want none", v.Override)
	}
}

func opHistory(r *rig) {
	t := r.t
	for _, slot := range []string{"701", "702", "703"} {
		r.parked(siptest.NewPhone(t, "caller"+slot), slot)
	}
	page, err := r.c.History(ctx(t), parkd.HistoryFilter{Outcome: "parked", Limit: 2})
	r.must(err)
	if len(page.Entries) != 2 || page.Entries[0].Slot != "703" || page.Next == "" {
		t.Fatalf("first page %+v, want 703 then 702 and a cursor", page)
	}
	page, err = r.c.History(ctx(t), parkd.HistoryFilter{Outcome: "parked", Limit: 2, Cursor: page.Next})
	r.must(err)
	if len(page.Entries) != 1 || page.Entries[0].Slot != "701" {
		t.Fatalf("second page %+v, want 701", page)
	}
	page, err = r.c.History(ctx(t), parkd.HistoryFilter{Caller: "caller702"})
	r.must(err)
	if len(page.Entries) != 1 || page.Entries[0].Slot != "702" {
		t.Errorf("caller filter: %+v, want the one row of 702", page)
	}
	callID := page.Entries[0].CallID
	page, err = r.c.History(ctx(t), parkd.HistoryFilter{CallID: callID})
	r.must(err)
	if len(page.Entries) != 1 || page.Entries[0].CallID != callID {
		t.Errorf("call_id filter: %+v, want the one row of %s", page, callID)
	}
}

func opErrors(r *rig) {
	t := r.t
	_, id := r.parked(r.alice, "701")
	two := parkd.Duration(time.Second)
	tests := []struct {
		name  string
		call  func() error
		code  string
		field string
	}{
		{"park an unknown call", func() error { _, err := r.c.Park(ctx(t), "c999", parkd.ParkRequest{}); return err }, parkd.CodeNoSuchCall, ""},
		{"park a parked call", func() error { _, err := r.c.Park(ctx(t), id, parkd.ParkRequest{}); return err }, parkd.CodeInvalidState, ""},
		{"retrieve a missing slot", func() error { _, err := r.c.Retrieve(ctx(t), "799", parkd.RetrieveRequest{}); return err }, parkd.CodeNoSuchSlot, ""},
		{"retrieve an empty slot", func() error { _, err := r.c.Retrieve(ctx(t), "702", parkd.RetrieveRequest{}); return err }, parkd.CodeSlotEmpty, ""},
		{"retrieve to a bad URI", func() error {
			_, err := r.c.Retrieve(ctx(t), "701", parkd.RetrieveRequest{To: "bob"})
			return err
		}, parkd.CodeInvalidField, "to"},
		{"move into itself", func() error { _, err := r.c.Move(ctx(t), "701", "701"); return err }, parkd.CodeInvalidField, "to"},
		{"move from an empty slot", func() error { _, err := r.c.Move(ctx(t), "702", "703"); return err }, parkd.CodeSlotEmpty, ""},
		{"slots of an unknown lot", func() error { _, err := r.c.Slots(ctx(t), parkd.SlotFilter{Lot: "nope"}); return err }, parkd.CodeNoSuchLot, ""},
		{"calls in an unknown state", func() error { _, err := r.c.Calls(ctx(t), parkd.CallFilter{State: "lost"}); return err }, parkd.CodeInvalidField, "state"},
		{"policy of an unknown lot", func() error { _, err := r.c.Policy(ctx(t), "lots/nope"); return err }, parkd.CodeNoSuchLot, ""},
		{"recall_after out of range", func() error {
			_, err := r.c.PatchPolicy(ctx(t), "defaults", parkd.PolicyPatch{Set: parkd.Policy{RecallAfter: &two}})
			return err
		}, parkd.CodeInvalidField, "recall_after"},
		{"clear an unknown key", func() error {
			_, err := r.c.PatchPolicy(ctx(t), "defaults", parkd.PolicyPatch{Clear: []string{"colour"}})
			return err
		}, parkd.CodeInvalidField, "colour"},
		{"hang up an unknown call", func() error { _, err := r.c.Hangup(ctx(t), "c999"); return err }, parkd.CodeNoSuchCall, ""},
	}
	for _, tt := range tests {
		err := tt.call()
		var e *parkd.Error
		if !asError(err, &e) || e.Code != tt.code || e.Field != tt.field || e.Message == "" {
			t.Errorf("%s: err %#v, want code %s field %q with a message", tt.name, err, tt.code, tt.field)
		}
	}
	// A second call fills 702; parking into it is slot_full.
	_, second := r.queued(siptest.NewPhone(t, "dave"))
	if _, err := r.c.Park(ctx(t), second, parkd.ParkRequest{Slot: "701"}); parkd.ErrorCode(err) != parkd.CodeSlotFull {
		t.Errorf("park into an occupied slot: %v, want slot_full", err)
	}
}

func asError(err error, target **parkd.Error) bool {
	e, ok := err.(*parkd.Error)
	if ok {
		*target = e
	}
	return ok
}

func opTransferBridged(r *rig) {
	t := r.t
	call, id := r.parked(r.alice, "701")
	r.Dial(r.bob, "701", 200, siptest.CallOptions{}) // bob retrieves by dialling the slot
	r.WaitEvent(parkd.EventRetrieved, "701")
	carol := siptest.NewPhone(t, "carol")
	if _, err := r.c.Transfer(ctx(t), id, carol.URI()); err != nil {
		t.Fatal(err)
	}
	carolCall := r.answer(carol)
	r.WaitEvent(parkd.EventBridged, "")
	clienttest.AssertAudio(t, call, carolCall)
	clienttest.AssertAudio(t, carolCall, call)
}

func opCallerLeavesDuringRetrieve(r *rig) {
	t := r.t
	call, _ := r.parked(r.alice, "701")
	if _, err := r.c.Retrieve(ctx(t), "701", parkd.RetrieveRequest{}); err != nil { // rings bob, who never answers
		t.Fatal(err)
	}
	if _, err := r.bob.Incoming(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := call.Hangup(ctx(t)); err != nil {
		t.Fatal(err)
	}
	r.WaitEvent(parkd.EventAbandoned, "701")
	r.Dial(siptest.NewPhone(t, "dave"), "701", 200, siptest.CallOptions{}) // parks in 701 again
	r.WaitEvent(parkd.EventParked, "701")
	sl, err := r.c.Slot(ctx(t), "701")
	if err != nil || sl.State != parkd.SlotParked {
		t.Errorf("701 after the caller left mid-retrieve and another parked: %+v %v, want parked (not stuck retrieving)", sl, err)
	}
}
