package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/parkd/parkd/parkd"
)

// fakeClient is a daemon in memory: it answers from its fields and
// records every call as "Method(args)" for the tests to compare.
type fakeClient struct {
	mu    sync.Mutex
	calls []string

	status  parkd.Status
	lots    []parkd.LotView
	slots   []parkd.SlotView
	callsV  []parkd.CallView
	call    parkd.CallView
	slot    parkd.SlotView
	policy  parkd.PolicyView
	history parkd.HistoryPage
	// slotErr answers Slot; err answers every other method when set.
	slotErr error
	err     error
	// streams are what successive Subscribe calls return.
	streams []chan parkd.Event
	subErrs []error
}

var _ parkd.Client = (*fakeClient)(nil)

func (f *fakeClient) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeClient) log() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, "\n")
}

func (f *fakeClient) Status(context.Context) (parkd.Status, error) {
	f.record("Status()")
	return f.status, f.err
}
func (f *fakeClient) Lots(context.Context) ([]parkd.LotView, error) {
	f.record("Lots()")
	return f.lots, f.err
}
func (f *fakeClient) Slots(_ context.Context, flt parkd.SlotFilter) ([]parkd.SlotView, error) {
	f.record("Slots(%+v)", flt)
	return f.slots, f.err
}
func (f *fakeClient) Slot(_ context.Context, slot string) (parkd.SlotView, error) {
	f.record("Slot(%s)", slot)
	return f.slot, f.slotErr
}
func (f *fakeClient) Calls(_ context.Context, flt parkd.CallFilter) ([]parkd.CallView, error) {
	f.record("Calls(%+v)", flt)
	return f.callsV, f.err
}
func (f *fakeClient) Call(_ context.Context, id string) (parkd.CallView, error) {
	f.record("Call(%s)", id)
	return f.call, f.err
}
func (f *fakeClient) Park(_ context.Context, id string, req parkd.ParkRequest) (parkd.CallView, error) {
	ra := "nil"
	if req.RecallAfter != nil {
		ra = req.RecallAfter.String()
	}
	f.record("Park(%s, slot=%s lot=%s recall_after=%s parker=%s)", id, req.Slot, req.Lot, ra, req.Parker)
	return f.call, f.err
}
func (f *fakeClient) Retrieve(_ context.Context, slot string, req parkd.RetrieveRequest) (parkd.SlotView, error) {
	f.record("Retrieve(%s, to=%s)", slot, req.To)
	return f.slot, f.err
}
func (f *fakeClient) Move(_ context.Context, slot, to string) (parkd.SlotView, error) {
	f.record("Move(%s, %s)", slot, to)
	return f.slot, f.err
}
func (f *fakeClient) Transfer(_ context.Context, id, to string) (parkd.CallView, error) {
	f.record("Transfer(%s, %s)", id, to)
	return f.call, f.err
}
func (f *fakeClient) Hangup(_ context.Context, id string) (parkd.CallView, error) {
	f.record("Hangup(%s)", id)
	return f.call, f.err
}
func (f *fakeClient) Policy(_ context.Context, scope string) (parkd.PolicyView, error) {
	f.record("Policy(%s)", scope)
	return f.policy, f.err
}
func (f *fakeClient) PatchPolicy(_ context.Context, scope string, p parkd.PolicyPatch) (parkd.PolicyView, error) {
	var set []string
	for _, k := range policyKeys {
		v, _ := policyField(&p.Set, k)
		if s := formatField(v); s != "" {
			set = append(set, k+"="+s)
		}
	}
	f.record("PatchPolicy(%s, set=%s clear=%s)", scope, strings.Join(set, ","), strings.Join(p.Clear, ","))
	return f.policy, f.err
}
func (f *fakeClient) ClearPolicy(_ context.Context, scope string) (parkd.PolicyView, error) {
	f.record("ClearPolicy(%s)", scope)
	return f.policy, f.err
}
func (f *fakeClient) History(_ context.Context, h parkd.HistoryFilter) (parkd.HistoryPage, error) {
	f.record("History(lot=%s slot=%s caller=%s outcome=%s since=%s until=%s limit=%d cursor=%s)",
		h.Lot, h.Slot, h.Caller, h.Outcome, h.Since.UTC().Format("2006-01-02T15:04:05Z"), h.Until.UTC().Format("2006-01-02T15:04:05Z"), h.Limit, h.Cursor)
	return f.history, f.err
}
func (f *fakeClient) Subscribe(_ context.Context, after uint64) (<-chan parkd.Event, error) {
	f.record("Subscribe(%d)", after)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subErrs) > 0 {
		err := f.subErrs[0]
		f.subErrs = f.subErrs[1:]
		if err != nil {
			return nil, err
		}
	}
	if len(f.streams) == 0 {
		return nil, &parkd.Error{Code: parkd.CodeUnavailable, Message: "no more streams"}
	}
	ch := f.streams[0]
	f.streams = f.streams[1:]
	return ch, nil
}
