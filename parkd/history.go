package parkd

import (
	"context"
	"time"

	"github.com/parkd/parkd/parkd/store"
)

// storeTimeout bounds opening the store and flushing it on shutdown.
const storeTimeout = 10 * time.Second

// openStore opens the SQLite store in the data directory and restores the
// live policy overrides; with no data directory parkd keeps nothing.
func (s *Server) openStore() error {
	if s.cfg.Data == "" {
		s.log.Warn("no data directory: policy overrides and history are not kept")
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	st, err := store.Open(ctx, s.cfg.Data)
	if err != nil {
		return &ConfigError{Key: "data", Msg: err.Error()}
	}
	s.store = st
	if err := s.loadOverrides(ctx); err != nil {
		st.Close()
		s.store = nil
		return &ConfigError{Key: "data", Msg: err.Error()}
	}
	s.history = st.NewHistoryWriter(s.log)
	return nil
}

// closeStore flushes the history and closes the store, once. s.store
// stays set: a late reader gets the store's own "closed" error, not a nil
// pointer.
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
	})
}

// historyKinds are the events that make a history row: what happened to a
// parked call, not BLF counts or policy edits.
var historyKinds = map[EventKind]bool{
	EventParked: true, EventRetrieved: true, EventAbandoned: true, EventHungUp: true,
	EventRecalling: true, EventRecallFailed: true, EventRecalled: true, EventReparked: true, EventForwarded: true,
}

// recordHistory is the store's event sink: it queues a row and never
// waits on the disk (it runs under the slot lock).
func (s *Server) recordHistory(ev Event) {
	if !historyKinds[ev.Kind] || ev.Call == nil {
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
