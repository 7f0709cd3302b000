package parkd

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/parkd/parkd/parkd/store"
)

// storeTimeout bounds opening the store and flushing it on shutdown.
const storeTimeout = 10 * time.Second

// openStore takes the data directory's lock, opens the SQLite store in it,
// closes the history of calls a killed daemon left parked and restores
// the live policy overrides; with no data directory parkd keeps nothing.
func (s *Server) openStore() error {
	if s.config().Data == "" {
		s.log.Warn("no data directory: policy overrides and history are not kept")
		return nil
	}
	lock, err := store.LockDir(s.config().Data)
	if err != nil {
		var locked *store.LockedError
		if errors.As(err, &locked) {
			return err // a runtime conflict, not a config error: exit 1
		}
		return &ConfigError{Key: "data", Msg: err.Error()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	st, err := store.Open(ctx, s.config().Data)
	if err != nil {
		lock.Unlock()
		return &ConfigError{Key: "data", Msg: err.Error()}
	}
	s.store, s.dirLock = st, lock
	err = s.closeLostCalls(ctx)
	if err == nil {
		err = s.loadOverrides(ctx)
	}
	if err != nil {
		st.Close()
		lock.Unlock()
		s.store, s.dirLock = nil, nil
		return &ConfigError{Key: "data", Msg: err.Error()}
	}
	s.history = st.NewHistoryWriter(s.log)
	return nil
}

// closeStore flushes the history, closes the store and releases the data
// directory, once. s.store stays set: a late reader gets the store's own
// "closed" error, not a nil pointer.
func (s *Server) closeStore() {
	if s.store == nil {
		return
	}
	s.storeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if s.history != nil {
			if err := s.history.Close(ctx); err != nil {
				s.log.Warn("history not fully written", "error", err)
			}
		}
		if err := s.store.Close(); err != nil {
			s.log.Warn("closing the store", "error", err)
		}
		if err := s.dirLock.Unlock(); err != nil {
			s.log.Warn("releasing the data directory lock", "error", err)
		}
	})
}

// OutcomeLost is the history outcome of a call parkd was holding when it
// stopped without hanging up (kill -9, a crash, power loss): found and
// written at the next start, since nobody knows how the call ended.
const OutcomeLost = "lost"

// endedKinds are the history outcomes after which a call is no longer
// parkd's: any other newest row means it was left parked.
var endedKinds = []string{
	string(EventRetrieved), string(EventAbandoned), string(EventHungUp), string(EventRecalled),
	string(EventForwarded), OutcomeLost,
}

// closeLostCalls ends the history of calls the last daemon left parked. A
// clean stop hangs every call up and records it, so only an unclean one
// leaves any; the store lock guarantees no other parkd holds them now.
func (s *Server) closeLostCalls(ctx context.Context) error {
	lost, err := s.store.CloseOpenCalls(ctx, endedKinds, OutcomeLost,
		"parkd stopped without ending the call (killed or crashed)", s.clock.Now())
	if err != nil {
		return err
	}
	if len(lost) == 0 {
		return nil
	}
	ids := make([]string, 0, min(len(lost), 10))
	for _, r := range lost[:min(len(lost), 10)] {
		ids = append(ids, r.CallID)
	}
	s.log.Warn("the last parkd stopped without ending some parked calls: their history is closed as lost",
		"calls", len(lost), "call_ids", ids)
	return nil
}

// historyKinds are the events that make a history row: what happened to a
// parked call, not BLF counts or policy edits.
var historyKinds = map[EventKind]bool{
	EventParked: true, EventRetrieved: true, EventAbandoned: true, EventHungUp: true,
	EventRecalling: true, EventRecallFailed: true, EventRecalled: true, EventReparked: true, EventForwarded: true,
	EventMoved: true, EventRingFailed: true, EventOverdue: true,
}

// recordHistory is the store's event sink: it queues a row and never
// waits on the disk (it runs under the slot lock).
func (s *Server) recordHistory(ev Event) {
	if !historyKinds[ev.Kind] || ev.Call == nil || ev.Slot == "" {
		return
	}
	s.history.Add(store.HistoryRow{
		Time: ev.Time, Lot: ev.Lot, Slot: ev.Slot, CallID: ev.Call.CallID,
		Caller: ev.Call.Caller.String(), Parker: ev.Call.parkerString(),
		Outcome: string(ev.Kind), Detail: ev.Detail, Parked: ev.Time.Sub(ev.Call.ParkedAt),
	})
}

// HistoryRows lists the store's history rows, newest first.
func (s *Server) HistoryRows(ctx context.Context, q store.HistoryQuery) ([]store.HistoryRow, error) {
	if s.store == nil {
		return nil, nil
	}
	if err := s.history.Flush(ctx); err != nil {
		return nil, err
	}
	return s.store.History(ctx, q)
}

// History lists history entries, newest first, a page at a time
// (Client.History). Without a store it is always empty.
func (s *Server) History(ctx context.Context, f HistoryFilter) (HistoryPage, error) {
	q := store.HistoryQuery{Lot: f.Lot, Slot: f.Slot, CallID: f.CallID, Caller: f.Caller, Outcome: f.Outcome, Since: f.Since, Until: f.Until, Limit: f.Limit}
	if f.Limit < 0 || f.Limit > store.MaxHistoryLimit {
		return HistoryPage{}, fieldError("limit", "%d is outside 1–%d", f.Limit, store.MaxHistoryLimit)
	}
	if f.Cursor != "" {
		before, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || before <= 0 {
			return HistoryPage{}, fieldError("cursor", "%q is not a cursor from a previous page", f.Cursor)
		}
		q.Before = before
	}
	if f.Outcome != "" && !historyKinds[EventKind(f.Outcome)] && f.Outcome != OutcomeLost {
		return HistoryPage{}, fieldError("outcome", "%q is not an outcome history keeps", f.Outcome)
	}
	rows, err := s.HistoryRows(ctx, q)
	if err != nil {
		return HistoryPage{}, err
	}
	page := HistoryPage{Entries: make([]HistoryEntry, 0, len(rows))}
	for _, r := range rows {
		page.Entries = append(page.Entries, HistoryEntry{
			ID: r.ID, Time: r.Time, Lot: r.Lot, Slot: r.Slot, CallID: r.CallID, Caller: r.Caller,
			Parker: r.Parker, Outcome: r.Outcome, Detail: r.Detail, Parked: Duration(r.Parked),
		})
	}
	limit := f.Limit
	if limit == 0 {
		limit = store.DefaultHistoryLimit
	}
	if len(rows) == limit {
		page.Next = strconv.FormatInt(rows[len(rows)-1].ID, 10)
	}
	return page, nil
}
