package tui

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parkd/parkd/parkd"
)

// fakeClient is a parkd.Client for the console's tests: it serves a
// scripted state, records every call made to it, returns scripted errors,
// and hands out an event channel the test feeds and closes.
type fakeClient struct {
	mu       sync.Mutex
	status   parkd.Status
	lots     []parkd.LotView
	slots    []parkd.SlotView
	queue    []parkd.CallView
	history  map[string]parkd.HistoryPage
	policies map[string]parkd.PolicyView
	errs     map[string]error // by method: the next calls of it fail
	calls    []string         // "Retrieve 701 to=" …
	stream   chan parkd.Event
	streams  int // subscriptions made
	subAfter []uint64
	// subscribed is signalled (non-blocking) on every Subscribe.
	subscribed chan struct{}
}

func newFake() *fakeClient {
	return &fakeClient{
		status:     parkd.Status{Version: "test", LastEvent: 1000},
		history:    map[string]parkd.HistoryPage{},
		policies:   map[string]parkd.PolicyView{},
		errs:       map[string]error{},
		subscribed: make(chan struct{}, 16),
	}
}

var _ parkd.Client = (*fakeClient)(nil)

func (f *fakeClient) record(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := fmt.Sprintf(format, args...)
	f.calls = append(f.calls, call)
	method, _, _ := strings.Cut(call, " ")
	return f.errs[method]
}

func (f *fakeClient) failing(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.errs, method)
	} else {
		f.errs[method] = err
	}
}

func (f *fakeClient) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// actions is what was recorded, without the snapshot and detail reads.
func (f *fakeClient) actions() []string {
	var out []string
	for _, c := range f.recorded() {
		switch strings.SplitN(c, " ", 2)[0] {
		case "Status", "Lots", "Slots", "Calls", "Subscribe", "History", "Policy":
			continue
		}
		out = append(out, c)
	}
	return out
}

func (f *fakeClient) Status(ctx context.Context) (parkd.Status, error) {
	if err := f.record("Status"); err != nil {
		return parkd.Status{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.status
	st.Lots = f.lots
	return st, nil
}

func (f *fakeClient) Lots(ctx context.Context) ([]parkd.LotView, error) {
	if err := f.record("Lots"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]parkd.LotView(nil), f.lots...), nil
}

func (f *fakeClient) Slots(ctx context.Context, _ parkd.SlotFilter) ([]parkd.SlotView, error) {
	if err := f.record("Slots"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]parkd.SlotView(nil), f.slots...), nil
}

func (f *fakeClient) Slot(ctx context.Context, slot string) (parkd.SlotView, error) {
	if err := f.record("Slot %s", slot); err != nil {
		return parkd.SlotView{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.slots {
		if s.Slot == slot {
			return s, nil
		}
	}
	return parkd.SlotView{}, &parkd.Error{Code: parkd.CodeNoSuchSlot, Message: "no slot " + slot}
}

func (f *fakeClient) Calls(ctx context.Context, flt parkd.CallFilter) ([]parkd.CallView, error) {
	if err := f.record("Calls %s", flt.State); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]parkd.CallView(nil), f.queue...), nil
}

func (f *fakeClient) Call(ctx context.Context, id string) (parkd.CallView, error) {
	return parkd.CallView{}, f.record("Call %s", id)
}

func (f *fakeClient) Park(ctx context.Context, id string, req parkd.ParkRequest) (parkd.CallView, error) {
	if err := f.record("Park %s slot=%s lot=%s parker=%s", id, req.Slot, req.Lot, req.Parker); err != nil {
		return parkd.CallView{}, err
	}
	slot := req.Slot
	if slot == "" {
		slot = "705"
	}
	return parkd.CallView{ID: id, Slot: slot, State: parkd.CallParked}, nil
}

func (f *fakeClient) Retrieve(ctx context.Context, slot string, req parkd.RetrieveRequest) (parkd.SlotView, error) {
	if err := f.record("Retrieve %s to=%s", slot, req.To); err != nil {
		return parkd.SlotView{}, err
	}
	to := req.To
	if to == "" {
		to = "sip:bob@pbx.example"
	}
	return parkd.SlotView{Slot: slot, State: parkd.SlotRetrieving, Call: &parkd.CallView{RingingTo: to}}, nil
}

func (f *fakeClient) Move(ctx context.Context, slot, to string) (parkd.SlotView, error) {
	if err := f.record("Move %s to=%s", slot, to); err != nil {
		return parkd.SlotView{}, err
	}
	return parkd.SlotView{Slot: to, State: parkd.SlotParked}, nil
}

func (f *fakeClient) Transfer(ctx context.Context, id, to string) (parkd.CallView, error) {
	if err := f.record("Transfer %s to=%s", id, to); err != nil {
		return parkd.CallView{}, err
	}
	if to == "" {
		to = "sip:bob@pbx.example"
	}
	return parkd.CallView{ID: id, State: parkd.CallRinging, RingingTo: to}, nil
}

func (f *fakeClient) Hangup(ctx context.Context, id string) (parkd.CallView, error) {
	if err := f.record("Hangup %s", id); err != nil {
		return parkd.CallView{}, err
	}
	return parkd.CallView{ID: id, State: parkd.CallFinished}, nil
}

func (f *fakeClient) Policy(ctx context.Context, scope string) (parkd.PolicyView, error) {
	if err := f.record("Policy %s", scope); err != nil {
		return parkd.PolicyView{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.policies[scope]; ok {
		return v, nil
	}
	return defaultPolicyView(scope), nil
}

func (f *fakeClient) PatchPolicy(ctx context.Context, scope string, patch parkd.PolicyPatch) (parkd.PolicyView, error) {
	var set []string
	for _, pf := range policyFields {
		if v, ok := pf.get(patch.Set); ok {
			set = append(set, pf.key+"="+v)
		}
	}
	if err := f.record("PatchPolicy %s set=%s clear=%s", scope, strings.Join(set, ","), strings.Join(patch.Clear, ",")); err != nil {
		return parkd.PolicyView{}, err
	}
	v := defaultPolicyView(scope)
	v.Override = patch.Set
	return v, nil
}

func (f *fakeClient) ClearPolicy(ctx context.Context, scope string) (parkd.PolicyView, error) {
	return defaultPolicyView(scope), f.record("ClearPolicy %s", scope)
}

func (f *fakeClient) History(ctx context.Context, flt parkd.HistoryFilter) (parkd.HistoryPage, error) {
	if err := f.record("History %s", flt.CallID); err != nil {
		return parkd.HistoryPage{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.history[flt.CallID], nil
}

// Subscribe hands out a fresh channel the test feeds with emit and ends
// with hangUpStream.
func (f *fakeClient) Subscribe(ctx context.Context, after uint64) (<-chan parkd.Event, error) {
	if err := f.record("Subscribe %d", after); err != nil {
		return nil, err
	}
	f.mu.Lock()
	ch := make(chan parkd.Event, 4096)
	f.stream = ch
	f.streams++
	f.subAfter = append(f.subAfter, after)
	f.mu.Unlock()
	select {
	case f.subscribed <- struct{}{}:
	default:
	}
	return ch, nil
}

// emit sends events on the current subscription.
func (f *fakeClient) emit(evs ...parkd.Event) {
	f.mu.Lock()
	ch := f.stream
	f.mu.Unlock()
	for _, ev := range evs {
		ch <- ev
	}
}

// hangUpStream closes the current subscription, as a daemon that stops.
func (f *fakeClient) hangUpStream() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stream != nil {
		close(f.stream)
		f.stream = nil
	}
}

// ---- fixtures ----

// t0 is the tests' fixed clock: every timer on screen counts from it.
var t0 = time.Date(2025, 3, 14, 9, 41, 30, 0, time.UTC)

func fixedNow() time.Time { return t0 }

func dur(d time.Duration) *parkd.Duration { pd := parkd.Duration(d); return &pd }
func str(s string) *string                { return &s }
func num(n int) *int                      { return &n }

func defaultPolicyView(scope string) parkd.PolicyView {
	eff := parkd.BuiltinPolicy()
	src := map[string]parkd.PolicySource{}
	for _, f := range policyFields {
		src[f.key] = parkd.PolicySource{Layer: parkd.LayerBuiltin, Key: "builtin"}
	}
	src["recall_after"] = parkd.PolicySource{Layer: parkd.LayerLot, Key: "lots[0].policy.recall_after"}
	eff.RecallAfter = dur(45 * time.Second)
	eff.RingGroup = []string{"sip:desk1@pbx.example", "sip:desk2@pbx.example"}
	src["ring_group"] = parkd.PolicySource{Layer: parkd.LayerDefaults, Key: "defaults.ring_group"}
	return parkd.PolicyView{Scope: scope, Effective: eff, Sources: src}
}

// mainLot is a lot of n slots from 701 with bob's phone as operator.
func (f *fakeClient) withLot(name string, first, n int) *fakeClient {
	f.lots = append(f.lots, parkd.LotView{Name: name, Extension: fmt.Sprint(first - 1), Slots: fmt.Sprintf("%d-%d", first, first+n-1),
		Total: n, Operator: "sip:bob@pbx.example", AttendantExtension: "0"})
	for i := range n {
		f.slots = append(f.slots, parkd.SlotView{Lot: name, Slot: fmt.Sprint(first + i), State: parkd.SlotFree})
	}
	return f
}

var people = []struct{ name, number string }{
	{"Alice Smith", "1001"}, {"Dr. Rajesh Koothrappali", "1002"}, {"Carol Jones", "1003"}, {"Dave Miller", "1004"},
	{"Erin O'Brien", "1005"}, {"Frank Castle", "1006"}, {"Grace Hopper", "1007"}, {"Heidi Klum", "1008"},
	{"", "+4930123456"}, {"Judy Garland", "1010"},
	{"Ivan Petrov", "1011"}, {"Kim Lee", "1012"}, {"Liam Walsh", "1013"}, {"Mia Wong", "1014"},
	{"Noah Fischer", "1015"},
}

// call is a call from person i, parked ago, recalling in.
func call(i int, slot string, ago, recallIn time.Duration) *parkd.CallView {
	p := people[i%len(people)]
	c := &parkd.CallView{
		ID: fmt.Sprintf("c%d", i), CallID: fmt.Sprintf("sip-%d@pbx", i), State: parkd.CallParked, Lot: "main", Slot: slot,
		Caller:     parkd.Party{Display: p.name, Number: p.number, URI: "sip:" + p.number + "@pbx.example"},
		Parker:     &parkd.Party{Display: "Bob", Number: "bob", URI: "sip:bob@pbx.example"},
		ParkerFrom: "Referred-By",
		Since:      t0.Add(-ago), ParkedAt: t0.Add(-ago),
	}
	at := t0.Add(recallIn)
	c.RecallAt = &at
	return c
}

// park puts c in its slot in the fixture.
func (f *fakeClient) park(c *parkd.CallView) *fakeClient {
	for i := range f.slots {
		if f.slots[i].Slot == c.Slot {
			f.slots[i].Call = c
			f.slots[i].State = slotStateOf(c)
		}
	}
	return f
}

func (f *fakeClient) enqueue(c parkd.CallView) *fakeClient {
	f.queue = append(f.queue, c)
	sort.SliceStable(f.queue, func(i, j int) bool { return f.queue[i].Position < f.queue[j].Position })
	return f
}

func queued(i, pos int, waited time.Duration) parkd.CallView {
	p := people[i%len(people)]
	return parkd.CallView{ID: fmt.Sprintf("q%d", i), CallID: fmt.Sprintf("sip-q%d@pbx", i), State: parkd.CallQueued, Lot: "main",
		Caller: parkd.Party{Display: p.name, Number: p.number, URI: "sip:" + p.number + "@pbx.example"}, Since: t0.Add(-waited), Position: pos}
}
