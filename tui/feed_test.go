package tui

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
)

// startFeed runs a feed on f with short waits and returns it.
func startFeed(t *testing.T, f *fakeClient) *feed {
	t.Helper()
	fd := newFeed(f)
	fd.minWait, fd.maxWait = 10*time.Millisecond, 40*time.Millisecond
	t.Cleanup(fd.stop)
	fd.start()()
	return fd
}

// next reads the feed's next message.
func next(t *testing.T, fd *feed) any {
	t.Helper()
	select {
	case m := <-fd.out:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("the feed sent nothing for 5 s")
	}
	return nil
}

func expect[T any](t *testing.T, fd *feed) T {
	t.Helper()
	m := next(t, fd)
	v, ok := m.(T)
	if !ok {
		t.Fatalf("feed sent %T %+v, want %T", m, m, *new(T))
	}
	return v
}

// 500 events at once reach the model in a few batches, in order.
func TestFeedCoalesces(t *testing.T) {
	f := busyFake()
	fd := startFeed(t, f)
	snap := expect[snapshotMsg](t, fd)
	if len(snap.slots) != 30 || snap.status.LastEvent != 1000 {
		t.Fatalf("snapshot %d slots, last event %d", len(snap.slots), snap.status.LastEvent)
	}
	if f.subAfter[0] != 1000 {
		t.Errorf("subscribed after %d, want the snapshot's 1000", f.subAfter[0])
	}
	const n = 500
	go func() {
		for i := range n {
			f.emit(parkd.Event{Seq: uint64(1001 + i), Kind: parkd.EventSubscribers, Slot: "701", Subscribers: i})
		}
	}()
	got, batches := 0, 0
	for got < n {
		b := expect[eventsMsg](t, fd)
		for i, ev := range b {
			if ev.Seq != uint64(1001+got+i) {
				t.Fatalf("event %d out of order: seq %d", got+i, ev.Seq)
			}
		}
		got += len(b)
		batches++
	}
	if batches > 10 {
		t.Errorf("%d events came in %d batches; coalescing should need a few", n, batches)
	}
	t.Logf("%d events in %d batches", n, batches)
}

// A lone event is not held longer than the batch window.
func TestFeedDeliversPromptly(t *testing.T) {
	f := busyFake()
	fd := startFeed(t, f)
	expect[snapshotMsg](t, fd)
	start := time.Now()
	f.emit(parkd.Event{Seq: 1001, Kind: parkd.EventSubscribers, Slot: "701"})
	expect[eventsMsg](t, fd)
	if d := time.Since(start); d > batchWindow+50*time.Millisecond {
		t.Errorf("one event took %s to arrive (window %s)", d, batchWindow)
	}
}

// A daemon that goes away: the feed says so, retries with a growing
// wait, and comes back with a fresh snapshot.
func TestFeedReconnects(t *testing.T) {
	f := busyFake()
	fd := startFeed(t, f)
	expect[snapshotMsg](t, fd)

	down := &parkd.Error{Code: parkd.CodeUnavailable, Message: "parkd cannot be reached"}
	f.failing("Status", down)
	f.hangUpStream()
	var waits []time.Duration
	first := expect[downMsg](t, fd)
	if first.err.Error() != "the event stream ended" {
		t.Errorf("first down: %v", first.err)
	}
	waits = append(waits, first.wait)
	for range 3 {
		d := expect[downMsg](t, fd)
		if !errors.Is(d.err, down) {
			t.Errorf("down: %v, want the daemon's error", d.err)
		}
		waits = append(waits, d.wait)
	}
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 40 * time.Millisecond}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Errorf("waits %v, want %v (doubling to the cap)", waits, want)
	}
	f.failing("Status", nil)
	for {
		if _, ok := next(t, fd).(snapshotMsg); ok {
			break
		}
	}
	if f.streams != 2 {
		t.Errorf("%d subscriptions, want 2", f.streams)
	}
}

// The production backoff: 250 ms doubling to 5 s.
func TestFeedBackoffDefaults(t *testing.T) {
	fd := newFeed(newFake())
	defer fd.stop()
	if fd.minWait != 250*time.Millisecond || fd.maxWait != 5*time.Second {
		t.Errorf("backoff %s to %s", fd.minWait, fd.maxWait)
	}
}

// A resync event (or a screen too far behind) means a fresh snapshot,
// without saying the daemon went away.
func TestFeedResyncs(t *testing.T) {
	t.Run("the daemon asks", func(t *testing.T) {
		f := busyFake()
		fd := startFeed(t, f)
		expect[snapshotMsg](t, fd)
		f.emit(parkd.Event{Seq: 1001, Kind: parkd.EventSubscribers, Slot: "701"}, parkd.Event{Seq: 5000, Kind: parkd.EventResync})
		if b := expect[eventsMsg](t, fd); len(b) != 1 {
			t.Errorf("the events before the resync: %d", len(b))
		}
		s := expect[snapshotMsg](t, fd)
		if s.resync == "" {
			t.Error("the snapshot does not say why it was taken")
		}
	})
	t.Run("the screen fell behind", func(t *testing.T) {
		f := busyFake()
		fd := startFeed(t, f)
		fd.maxQueue = 100
		expect[snapshotMsg](t, fd)
		for i := range 300 { // nobody reads: they pile up
			f.emit(parkd.Event{Seq: uint64(1001 + i), Kind: parkd.EventSubscribers, Slot: "701"})
		}
		for {
			if s, ok := next(t, fd).(snapshotMsg); ok {
				if s.resync == "" {
					t.Error("no reason given")
				}
				return
			}
		}
	})
}

// Stopping the feed ends its goroutine and the subscription.
func TestFeedStops(t *testing.T) {
	before := runtime.NumGoroutine()
	f := busyFake()
	fd := newFeed(f)
	fd.start()()
	expect[snapshotMsg](t, fd)
	fd.stop()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after stop, %d before", n, before)
	}
	if m := fd.listen()(); m != nil {
		t.Errorf("a stopped feed's listen returned %T", m)
	}
}

// Memory stays flat over 10,000 events: the event log keeps 1,000 lines
// and the board does not grow with the events it applies.
func TestMemoryFlatOverEvents(t *testing.T) {
	m := newTestModel(t, bigFake(1000), 160, 48)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	feedEvents := func(from, n int) {
		for b := from; b < from+n; b += 100 {
			batch := make(eventsMsg, 0, 100)
			for i := b; i < b+100; i++ {
				slot := fmt.Sprint(1000 + i%1000)
				c := call(i, slot, time.Duration(i%300)*time.Second, 30*time.Second)
				c.Lot = "big"
				kind := []parkd.EventKind{parkd.EventParked, parkd.EventSubscribers, parkd.EventRecalling, parkd.EventReparked}[i%4]
				batch = append(batch, parkd.Event{Seq: uint64(2000 + i), Time: t0, Kind: kind, Lot: "big", Slot: slot, Call: c, Detail: "x"})
			}
			m.Update(batch)
			_ = m.View()
		}
	}
	feedEvents(0, 2000) // warm up: the log fills to its bound
	base := heap()
	feedEvents(2000, 10000)
	after := heap()
	if n := m.events.len(); n != maxEventLines {
		t.Errorf("event log holds %d lines, want %d", n, maxEventLines)
	}
	growth := int64(after) - int64(base)
	t.Logf("heap %d KiB after 2,000 events, %d KiB after 12,000 (%+d KiB)", base>>10, after>>10, growth>>10)
	if growth > 512<<10 {
		t.Errorf("heap grew %d KiB over 10,000 events", growth>>10)
	}
}
