package parkd

import (
	"context"
	"sort"
	"strconv"
)

// Version is parkd's version, as Status reports it.
var Version = "dev"

var _ Client = (*Server)(nil)

// Status is the daemon at a glance (Client.Status).
func (s *Server) Status(ctx context.Context) (Status, error) {
	st := Status{Version: Version, Started: s.started}
	for _, a := range s.endpoint.Addrs() {
		st.SIP = append(st.SIP, a.String())
	}
	st.Lots, _ = s.Lots(ctx)
	s.mu.Lock()
	st.Calls = len(s.records)
	s.mu.Unlock()
	st.LastEvent = s.events.last()
	return st, nil
}

// Lots lists every lot with its counts (Client.Lots).
func (s *Server) Lots(ctx context.Context) ([]LotView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]LotView, 0, len(s.lots))
	for _, l := range s.lots {
		v := LotView{
			Name: l.cfg.Name, Extension: l.cfg.Extension, RetrieveExtension: l.cfg.RetrieveExtension,
			AttendantExtension: l.cfg.AttendantExtension, Operator: l.cfg.Operator, Slots: l.cfg.Slots,
			Total: len(l.slots), Queued: len(l.queue), QueueMax: l.cfg.QueueMaxOrDefault(),
		}
		for _, sl := range l.slots {
			if sl.parked != nil {
				v.Used++
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// Slots lists the slots that pass f, in lot and number order (Client.Slots).
func (s *Server) Slots(ctx context.Context, f SlotFilter) ([]SlotView, error) {
	if err := checkOneOf("state", f.State, SlotFree, SlotParked, SlotRecalling, SlotRetrieving); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Lot != "" && s.byLot[f.Lot] == nil {
		return nil, errorf(CodeNoSuchLot, "no lot %q", f.Lot)
	}
	out := []SlotView{}
	for _, l := range s.lots {
		if f.Lot != "" && l.cfg.Name != f.Lot {
			continue
		}
		for _, sl := range l.slots {
			if f.State == "" || sl.state() == f.State {
				out = append(out, sl.viewLocked())
			}
		}
	}
	for _, sl := range s.retired {
		if (f.Lot == "" || sl.lot.cfg.Name == f.Lot) && (f.State == "" || sl.state() == f.State) {
			out = append(out, sl.viewLocked())
		}
	}
	return out, nil
}

// Calls lists the calls that pass f: queued ones in queue order first,
// then by API id (Client.Calls).
func (s *Server) Calls(ctx context.Context, f CallFilter) ([]CallView, error) {
	if err := checkOneOf("state", f.State, CallQueued, CallParked, CallRecalling, CallRinging, CallBridged); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Lot != "" && s.byLot[f.Lot] == nil {
		return nil, errorf(CodeNoSuchLot, "no lot %q", f.Lot)
	}
	out := []CallView{}
	for _, rec := range s.byID {
		v := rec.view()
		if rec.ended || (f.State != "" && v.State != f.State) || (f.Lot != "" && v.Lot != f.Lot) {
			continue
		}
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Position > 0) != (b.Position > 0) {
			return a.Position > 0
		}
		if a.Position != b.Position {
			return a.Position < b.Position
		}
		return idNumber(a.ID) < idNumber(b.ID)
	})
	return out, nil
}

func idNumber(id string) uint64 {
	n, _ := strconv.ParseUint(id[1:], 10, 64)
	return n
}

// Call is one call by API id (Client.Call).
func (s *Server) Call(ctx context.Context, id string) (CallView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.recordLocked(id)
	if err != nil {
		return CallView{}, err
	}
	return *rec.view(), nil
}

// Snapshot lists every slot of every lot with its parked call.
func (s *Server) Snapshot() []SlotView {
	out, _ := s.Slots(context.Background(), SlotFilter{})
	return out
}

func checkOneOf(field, v string, allowed ...string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fieldError(field, "%q is not one of %v", v, allowed)
}

// Subscribe streams events after seq after (Client.Subscribe).
func (s *Server) Subscribe(ctx context.Context, after uint64) (<-chan Event, error) {
	return s.events.subscribeAfter(ctx, after), nil
}
