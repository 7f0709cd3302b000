package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHistoryWriterConcurrentAdds(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	log, logs := newTestLogger()
	w := s.NewHistoryWriter(log)
	defer w.Close(ctx)

	const producers, perProducer = 8, 1000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perProducer {
				w.Add(HistoryRow{
					Time:    histBase.Add(time.Duration(i) * time.Millisecond),
					Lot:     "main",
					Slot:    fmt.Sprint(701 + p),
					CallID:  fmt.Sprintf("p%d-%d", p, i),
					Outcome: "parked",
					Parked:  time.Duration(i) * time.Millisecond,
				})
			}
		}()
	}
	wg.Wait()
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if d := w.Dropped(); d != 0 {
		t.Fatalf("Dropped = %d with a queue larger than all rows", d)
	}

	got, err := s.History(ctx, HistoryQuery{Limit: MaxHistoryLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != producers*perProducer {
		t.Fatalf("%d rows on disk, want %d", len(got), producers*perProducer)
	}
	// Each producer's rows must be on disk in the order it added them.
	next := make(map[string]int)
	for i := len(got) - 1; i >= 0; i-- { // oldest first
		r := got[i]
		var p, n int
		if _, err := fmt.Sscanf(r.CallID, "p%d-%d", &p, &n); err != nil {
			t.Fatalf("row %d: call id %q: %v", r.ID, r.CallID, err)
		}
		if want := next[r.Slot]; n != want {
			t.Fatalf("slot %s: row %d is %s, want sequence %d", r.Slot, r.ID, r.CallID, want)
		}
		next[r.Slot] = n + 1
		if r.Parked != time.Duration(n)*time.Millisecond {
			t.Fatalf("row %s: Parked = %v", r.CallID, r.Parked)
		}
	}
	if strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("unexpected log output:\n%s", logs)
	}
}

func TestHistoryWriterFlushSeesEarlierAdds(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	w := s.NewHistoryWriter(nil)
	defer w.Close(ctx)
	for round := 1; round <= 20; round++ {
		w.Add(HistoryRow{Lot: "main", Slot: "701", CallID: fmt.Sprint(round)})
		if err := w.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := s.History(ctx, HistoryQuery{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].CallID != fmt.Sprint(round) {
			t.Fatalf("round %d: newest row is %+v", round, got)
		}
		if got[0].Time.IsZero() {
			t.Fatalf("round %d: zero Time was not filled in", round)
		}
	}
	// Nothing queued: Flush returns at once.
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestHistoryWriterCloseFlushes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDir(t, dir)
	w := s.NewHistoryWriter(nil)
	for i := range 500 {
		w.Add(HistoryRow{Lot: "main", Slot: "701", CallID: fmt.Sprint(i)})
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	w.Add(HistoryRow{CallID: "too late"})
	// A row after Close is late, not a full queue: the log must not
	// blame the disk for a daemon that stopped.
	if d, l := w.Dropped(), w.Late(); d != 0 || l != 1 {
		t.Errorf("after an Add past Close: Dropped = %d, Late = %d, want 0 and 1", d, l)
	}
	if err := w.Flush(ctx); err != nil {
		t.Errorf("Flush after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openDir(t, dir)
	got, err := s.History(ctx, HistoryQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 500 {
		t.Fatalf("%d rows after Close and reopen, want 500", len(got))
	}
	if got[0].CallID != "499" || got[499].CallID != "0" {
		t.Errorf("newest/oldest = %q/%q, want 499/0", got[0].CallID, got[499].CallID)
	}
}

// holdWriteLock stalls every write of s, as a slow disk would, until the
// returned func is called.
func holdWriteLock(s *Store) (release func()) {
	s.wlock <- struct{}{}
	var once sync.Once
	return func() { once.Do(func() { <-s.wlock }) }
}

func (w *HistoryWriter) queuedRows() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queued
}

// Under load, rows that arrive within the commit gap share one
// transaction; the first row after a quiet spell is written at once, and
// neither a Flush nor Close waits out the gap.
func TestHistoryWriterRowsShareACommitUnderLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := openTest(t)
	log, _ := newTestLogger()
	w := s.newHistoryWriter(log, defaultQueueRows, time.Hour)
	defer w.Close(ctx)

	w.Add(HistoryRow{CallID: "first"})
	waitFor(t, "the first row to be written", func() bool { return w.commits.Load() == 1 })
	for i := range 50 {
		w.Add(HistoryRow{CallID: fmt.Sprint(i)})
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush waited out the commit gap: %v", err)
	}
	if c := w.commits.Load(); c != 2 {
		t.Errorf("%d commits for one row and then 50 within the gap, want 2", c)
	}
	w.Add(HistoryRow{CallID: "last"})
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close waited out the commit gap: %v", err)
	}
	got, err := s.History(ctx, HistoryQuery{Limit: MaxHistoryLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 52 {
		t.Errorf("%d rows on disk, want 52", len(got))
	}
}

func TestHistoryWriterDropsWhenFull(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	log, logs := newTestLogger()
	const queue = 8
	w := s.newHistoryWriter(log, queue, defaultCommitGap)
	defer w.Close(ctx)

	release := holdWriteLock(s)
	defer release()
	// The first row goes to the writer, which then blocks on the disk...
	w.Add(HistoryRow{CallID: "first"})
	waitFor(t, "the writer to take the first row", func() bool { return w.queuedRows() == 0 })
	// ...so the queue fills, and the rest are dropped without blocking.
	for i := range queue + 100 {
		w.Add(HistoryRow{CallID: fmt.Sprint(i)})
	}
	if d := w.Dropped(); d != 100 {
		t.Errorf("Dropped = %d, want 100", d)
	}
	release()
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.History(ctx, HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1+queue {
		t.Errorf("%d rows on disk, want %d", len(got), 1+queue)
	}
	if n := logs.count("level=WARN"); n != 1 {
		t.Errorf("%d WARN lines for one burst, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "dropped_total=100") {
		t.Errorf("WARN does not give the count:\n%s", logs)
	}

	// The burst is over once a batch goes through without new drops; a
	// second burst warns again.
	w.Add(HistoryRow{CallID: "calm"})
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the end-of-burst note", func() bool { return logs.count("history queue has room again") == 1 })
	release = holdWriteLock(s)
	w.Add(HistoryRow{CallID: "first again"})
	waitFor(t, "the writer to take the row", func() bool { return w.queuedRows() == 0 })
	for range queue + 5 {
		w.Add(HistoryRow{})
	}
	release()
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if d := w.Dropped(); d != 105 {
		t.Errorf("Dropped = %d, want 105", d)
	}
	if n := logs.count("level=WARN"); n != 2 {
		t.Errorf("%d WARN lines for two bursts, want 2:\n%s", n, logs)
	}
}

func TestHistoryWriterFlushHonoursContext(t *testing.T) {
	s := openTest(t)
	w := s.NewHistoryWriter(nil)
	release := holdWriteLock(s)
	w.Add(HistoryRow{CallID: "stuck"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush with a stalled disk and a cancelled ctx = %v, want context.Canceled", err)
	}
	release()
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A disk that never comes back must not hold up shutdown: Close gives up
// when its ctx ends and says what was lost.
func TestHistoryWriterCloseGivesUp(t *testing.T) {
	s := openTest(t)
	log, logs := newTestLogger()
	w := s.NewHistoryWriter(log)
	release := holdWriteLock(s)
	defer release()
	for range 10 {
		w.Add(HistoryRow{CallID: "stuck"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := w.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "10 history rows were not written") {
		t.Errorf("Close = %v, want an error counting 10 lost rows", err)
	}
	if n := logs.count("level=ERROR"); n != 1 {
		t.Errorf("%d ERROR lines, want 1:\n%s", n, logs)
	}
}

func TestHistoryWriterReportsWriteErrors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	log, logs := newTestLogger()
	w := s.NewHistoryWriter(log)
	defer w.Close(ctx)

	s.db.Close() // every write fails from now on
	for range 3 {
		w.Add(HistoryRow{CallID: "lost"})
		w.Flush(ctx)
	}
	w.Add(HistoryRow{CallID: "lost too"})
	err := w.Flush(ctx)
	if err == nil || !strings.Contains(err.Error(), "1 history rows were not written") {
		t.Errorf("Flush = %v, want an error counting the 1 row lost since the last Flush", err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Errorf("Flush with nothing new lost = %v, want nil", err)
	}
	if n := logs.count("level=ERROR"); n != 1 {
		t.Errorf("%d ERROR lines for one run of failures, want 1:\n%s", n, logs)
	}
}
