package api

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parkd/parkd/parkd"
)

// fakeClient is a small parkd.Client: one lot "main" with slots 701-703,
// a few calls, policies and history, kept in memory. It refuses with the
// same *parkd.Error codes the daemon uses, and records what it was asked.
type fakeClient struct {
	mu       sync.Mutex
	slots    map[string]*parkd.SlotView
	calls    map[string]*parkd.CallView
	policies map[string]parkd.PolicyView
	history  []parkd.HistoryEntry
	// fail, when set, is what every operation returns.
	fail error
	// asked records every operation with its arguments, for assertions.
	asked []string

	seq    uint64
	events []parkd.Event
	subs   map[chan parkd.Event]struct{}
	buffer int // subscriber channel size; a full one is closed, as the daemon does
}

var t0 = time.Date(2025, 1, 31, 9, 0, 0, 0, time.UTC)

func newFake() *fakeClient {
	f := &fakeClient{
		slots:    map[string]*parkd.SlotView{},
		calls:    map[string]*parkd.CallView{},
		policies: map[string]parkd.PolicyView{},
		subs:     map[chan parkd.Event]struct{}{},
		buffer:   64,
	}
	for _, n := range []string{"701", "702", "703"} {
		f.slots[n] = &parkd.SlotView{Lot: "main", Slot: n, State: parkd.SlotFree}
	}
	recall := t0.Add(45 * time.Second)
	f.calls["c1"] = &parkd.CallView{ID: "c1", CallID: "abc@host", LocalTag: "lt", RemoteTag: "rt", State: parkd.CallParked,
		Lot: "main", Slot: "701", Caller: parkd.Party{Display: "Alice", Number: "201", URI: "sip:201@pbx"},
		Parker: &parkd.Party{Number: "202", URI: "sip:202@pbx"}, ParkerFrom: "Referred-By",
		Since: t0, ParkedAt: t0, RecallAt: &recall}
	f.slots["701"].State, f.slots["701"].Call = parkd.SlotParked, f.calls["c1"]
	f.calls["q1"] = &parkd.CallView{ID: "q1", CallID: "q@host", State: parkd.CallQueued, Lot: "main",
		Caller: parkd.Party{URI: "sip:300@pbx", Number: "300"}, Since: t0, Position: 1}
	d := parkd.Duration(45 * time.Second)
	for _, scope := range []string{"defaults", "lots/main", "slots/701", "slots/702", "slots/703"} {
		f.policies[scope] = parkd.PolicyView{Scope: scope, Effective: parkd.BuiltinPolicy(),
			Sources:  map[string]parkd.PolicySource{"recall_after": {Layer: "built-in", Key: "recall_after"}},
			Override: parkd.Policy{RecallAfter: &d}}
	}
	f.history = []parkd.HistoryEntry{{ID: 1, Time: t0, Lot: "main", Slot: "702", CallID: "x@host", Caller: "Bob <sip:203@pbx>",
		Outcome: "retrieved", Parked: parkd.Duration(12 * time.Second)}}
	return f
}

func (f *fakeClient) ask(format string, args ...any) error {
	f.asked = append(f.asked, fmt.Sprintf(format, args...))
	return f.fail
}

func (f *fakeClient) lastAsked() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.asked) == 0 {
		return ""
	}
	return f.asked[len(f.asked)-1]
}

func noSuch(code, what, name string) error {
	return &parkd.Error{Code: code, Message: fmt.Sprintf("no %s %q", what, name)}
}

func (f *fakeClient) Status(ctx context.Context) (parkd.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ask("Status"); err != nil {
		return parkd.Status{}, err
	}
	lots, _ := f.lotsLocked()
	return parkd.Status{Started: t0, SIP: []string{"udp://127.0.0.1:5060"}, Lots: lots, Calls: len(f.calls), LastEvent: f.seq}, nil
}

func (f *fakeClient) Lots(ctx context.Context) ([]parkd.LotView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ask("Lots"); err != nil {
		return nil, err
	}
	return f.lotsLocked()
}

func (f *fakeClient) lotsLocked() ([]parkd.LotView, error) {
	l := parkd.LotView{Name: "main", Extension: "700", Slots: "701-703", Total: len(f.slots), QueueMax: 10}
	for _, s := range f.slots {
		if s.Call != nil {
			l.Used++
		}
	}
	for _, c := range f.calls {
		if c.State == parkd.CallQueued {
			l.Queued++
		}
	}
	return []parkd.LotView{l}, nil
}

func (f *fakeClient) Slots(ctx context.Context, flt parkd.SlotFilter) ([]parkd.SlotView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ask("Slots lot=%s state=%s", flt.Lot, flt.State); err != nil {
		return nil, err
	}
	if flt.Lot != "" && flt.Lot != "main" {
		return nil, noSuch(parkd.CodeNoSuchLot, "lot", flt.Lot)
	}
	var out []parkd.SlotView
	for _, n := range slices.Sorted(maps.Keys(f.slots)) {
		if s := f.slots[n]; flt.State == "" || s.State == flt.State {
			out = append(out, *s)
		}
	}
	return out, nil
}

func (f *fakeClient) Slot(ctx context.Context, slot string) (parkd.SlotView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ask("Slot %s", slot); err != nil {
		return parkd.SlotView{}, err
	}
	s, ok := f.slots[slot]
	if !ok {
		return parkd.SlotView{}, noSuch(parkd.CodeNoSuchSlot, "slot", slot)
	}
	return *s, nil
}

func (f *fakeClient) Calls(ctx context.Context, flt parkd.CallFilter) ([]parkd.CallView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ask("Calls lot=%s state=%s", flt.Lot, flt.State); err != nil {
		return nil, err
	}
	var out []parkd.CallView
	for _, id := range slices.Sorted(maps.Keys(f.calls)) {
		if c := f.calls[id]; flt.State == "" || c.State == flt.State {
			out = append(out, *c)
		}
	}
	return out, nil
}

func (f *fakeClient) Call(ctx context.Context, id string) (parkd.CallView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ask("Call %s", id); err != nil {
		return parkd.CallView{}, err
	}
	c, ok := f.calls[id]
	if !ok {
		return parkd.CallView{}, noSuch(parkd.CodeNoSuchCall, "call", id)
	}
	return *c, nil
}

func (f *fakeClient) Park(ctx context.Context, id string, req parkd.ParkRequest) (parkd.CallView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ra := ""
	if req.RecallAfter != nil {
		ra = req.RecallAfter.String()
	}
	if err := f.ask("Park %s slot=%s lot=%s recall_after=%s parker=%s", id, req.Slot, req.Lot, ra, req.Parker); err != nil {
		return parkd.CallView{}, err
	}
	c, ok := f.calls[id]
	if !ok {
		return parkd.CallView{}, noSuch(parkd.CodeNoSuchCall, "call", id)
	}
	if c.State != parkd.CallQueued && c.State != parkd.CallBridged {
		return parkd.CallView{}, &parkd.Error{Code: parkd.CodeInvalidState, Message: "the call is " + c.State}
	}
	if req.Lot != "" && req.Lot != "main" {
		return parkd.CallView{}, noSuch(parkd.CodeNoSuchLot, "lot", req.Lot)
	}
	slot := req.Slot
	if slot == "" {
		for _, n := range slices.Sorted(maps.Keys(f.slots)) {
			if f.slots[n].Call == nil {
				slot = n
				break
			}
		}
		if slot == "" {
			return parkd.CallView{}, &parkd.Error{Code: parkd.CodeLotFull, Message: "lot main is full"}
		}
	}
	s, ok := f.slots[slot]
	switch {
	case !ok:
		return parkd.CallView{}, noSuch(parkd.CodeNoSuchSlot, "slot", slot)
	case s.Call != nil:
		return parkd.CallView{}, &parkd.Error{Code: parkd.CodeSlotFull, Message: "slot " + slot + " is full"}
	}
	c.State, c.Slot, c.ParkedAt, c.Position = parkd.CallParked, slot, t0, 0
	s.State, s.Call = parkd.SlotParked, c
	s.Version++
	return *c, nil
}

func (f *fakeClient) Retrieve(ctx context.Context, slot string, req parkd.RetrieveRequest) (parkd.SlotView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ask("Retrieve %s to=%s", slot, req.To); err != nil {
		return parkd.SlotView{}, err
	}
	s, ok := f.slots[slot]
	switch {
	case !ok:
		return parkd.SlotView{}, noSuch(parkd.CodeNoSuchSlot, "slot", slot)
	case s.Call == nil:
		return parkd.SlotView{}, &parkd.Error{Code: parkd.CodeSlotEmpty, Message: "slot " + slot + " is empty"}
	}
	s.State = parkd.SlotRetrieving
	s.Call.State, s.Call.RingingTo = parkd.CallRinging, cmpOr(req.To, "sip:operator@pbx")
	return *s, nil
}

func (f *fakeClient) Move(ctx context.Context, slot, to string) (parkd.SlotView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ask("Move %s to=%s", slot, to); err != nil {
		return parkd.SlotView{}, err
	}
	from, ok := f.slots[slot]
	if !ok {
		return parkd.SlotView{}, noSuch(parkd.CodeNoSuchSlot, "slot", slot)
	}
	dst, ok := f.slots[to]
	switch {
	case !ok:
		return parkd.SlotView{}, noSuch(parkd.CodeNoSuchSlot, "slot", to)
	case from.Call == nil:
		return parkd.SlotView{}, &parkd.Error{Code: parkd.CodeSlotEmpty, Message: "slot " + slot + " is empty"}
	case dst.Call != nil:
		return parkd.SlotView{}, &parkd.Error{Code: parkd.CodeSlotFull, Message: "slot " + to + " is full"}
	}
	dst.Call, dst.State, from.Call, from.State = from.Call, from.State, nil, parkd.SlotFree
	dst.Call.Slot = to
	return *dst, nil
}

func (f *fakeClient) Transfer(ctx context.Context, id, to string) (parkd.CallView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ask("Transfer %s to=%s", id, to); err != nil {
		return parkd.CallView{}, err
	}
	c, ok := f.calls[id]
	if !ok {
		return parkd.CallView{}, noSuch(parkd.CodeNoSuchCall, "call", id)
	}
	c.State, c.RingingTo = parkd.CallRinging, cmpOr(to, "sip:operator@pbx")
	return *c, nil
}

func (f *fakeClient) Hangup(ctx context.Context, id string) (parkd.CallView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ask("Hangup %s", id); err != nil {
		return parkd.CallView{}, err
	}
	c, ok := f.calls[id]
	if !ok {
		return parkd.CallView{}, noSuch(parkd.CodeNoSuchCall, "call", id)
	}
	return *c, nil
}

func (f *fakeClient) policy(scope string) (parkd.PolicyView, error) {
	v, ok := f.policies[scope]
	if !ok {
		kind, name, _ := strings.Cut(scope, "/")
		if kind == "lots" {
			return v, noSuch(parkd.CodeNoSuchLot, "lot", name)
		}
		return v, noSuch(parkd.CodeNoSuchSlot, "slot", name)
	}
	return v, nil
}

func (f *fakeClient) Policy(ctx context.Context, scope string) (parkd.PolicyView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ask("Policy %s", scope); err != nil {
		return parkd.PolicyView{}, err
	}
	return f.policy(scope)
}

func (f *fakeClient) PatchPolicy(ctx context.Context, scope string, patch parkd.PolicyPatch) (parkd.PolicyView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	enc, _ := encodePolicyPatch(patch)
	if err := f.ask("PatchPolicy %s %s", scope, enc); err != nil {
		return parkd.PolicyView{}, err
	}
	v, err := f.policy(scope)
	if err != nil {
		return v, err
	}
	if d := patch.Set.RecallAfter; d != nil && (d.D() < 5*time.Second || d.D() > time.Hour) {
		return v, &parkd.Error{Code: parkd.CodeInvalidField, Field: "recall_after", Message: "must be between 5s and 1h"}
	}
	v.Override = patch.Set.Over(v.Override)
	return v, nil
}

func (f *fakeClient) ClearPolicy(ctx context.Context, scope string) (parkd.PolicyView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ask("ClearPolicy %s", scope); err != nil {
		return parkd.PolicyView{}, err
	}
	v, err := f.policy(scope)
	v.Override = parkd.Policy{}
	return v, err
}

func (f *fakeClient) History(ctx context.Context, flt parkd.HistoryFilter) (parkd.HistoryPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ask("History lot=%s slot=%s caller=%s outcome=%s since=%s until=%s limit=%d cursor=%s",
		flt.Lot, flt.Slot, flt.Caller, flt.Outcome, fmtTime(flt.Since), fmtTime(flt.Until), flt.Limit, flt.Cursor); err != nil {
		return parkd.HistoryPage{}, err
	}
	return parkd.HistoryPage{Entries: f.history, Next: "cur2"}, nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Subscribe replays the events after after (all kept), then streams new
// ones; the channel closes when ctx ends or the reader falls behind.
func (f *fakeClient) Subscribe(ctx context.Context, after uint64) (<-chan parkd.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ask("Subscribe %d", after); err != nil {
		return nil, err
	}
	ch := make(chan parkd.Event, f.buffer)
	f.subs[ch] = struct{}{}
	if after > 0 {
		for _, ev := range f.events {
			if ev.Seq > after {
				f.sendLocked(ch, ev)
			}
		}
	}
	context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.closeLocked(ch)
	})
	return ch, nil
}

func (f *fakeClient) sendLocked(ch chan parkd.Event, ev parkd.Event) {
	if _, ok := f.subs[ch]; !ok {
		return
	}
	select {
	case ch <- ev:
	default:
		f.closeLocked(ch)
	}
}

func (f *fakeClient) closeLocked(ch chan parkd.Event) {
	if _, ok := f.subs[ch]; ok {
		delete(f.subs, ch)
		close(ch)
	}
}

// publish stamps ev with the next Seq and sends it to every subscriber.
func (f *fakeClient) publish(ev parkd.Event) parkd.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	ev.Seq = f.seq
	if ev.Time.IsZero() {
		ev.Time = t0.Add(time.Duration(ev.Seq) * time.Second)
	}
	f.events = append(f.events, ev)
	for ch := range f.subs {
		f.sendLocked(ch, ev)
	}
	return ev
}

// dropAll closes every subscription, as the daemon does to a slow reader.
func (f *fakeClient) dropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		f.closeLocked(ch)
	}
}

func (f *fakeClient) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

func (f *fakeClient) setFail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

var _ parkd.Client = (*fakeClient)(nil)
