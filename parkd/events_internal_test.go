package parkd

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
)

// A subscriber that stops reading is cut off once it is subscriberBuffer
// behind: publishing never waits for it, and its stream ends so that it
// resumes from its last event; a reader that keeps up misses nothing.
func TestSlowSubscriberIsCutOff(t *testing.T) {
	bus := newEventBus(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stalled := bus.subscribeAfter(ctx, 0)
	live := bus.subscribeAfter(ctx, 0)
	var read atomic.Int64
	go func() {
		for range live {
			read.Add(1)
		}
	}()
	total := 3 * subscriberBuffer
	for i := 1; i <= total; i++ {
		bus.publish(Event{Kind: EventParked, Slot: "701"}) // would block forever if it waited
		if i%(subscriberBuffer/2) == 0 {
			for read.Load() < int64(i) { // the live reader keeps up between bursts
				runtime.Gosched()
			}
		}
	}
	n := 0
	for range stalled {
		n++
	}
	if n != subscriberBuffer {
		t.Errorf("the stalled reader's stream held %d events before it closed, want %d", n, subscriberBuffer)
	}
}

// Resuming inside the window replays exactly the missed events; outside
// it, one resync carries the newest sequence number.
func TestResumeWindow(t *testing.T) {
	bus := newEventBus(slog.New(slog.NewTextHandler(io.Discard, nil)))
	bus.windowSize = 4
	base := bus.last() // 10 events: base+1 … base+10
	for i := 0; i < 10; i++ {
		bus.publish(Event{Kind: EventParked})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tests := []struct {
		after uint64
		want  []uint64
		kind  EventKind
	}{
		{after: 6, want: []uint64{7, 8, 9, 10}, kind: EventParked},
		{after: 9, want: []uint64{10}, kind: EventParked},
		{after: 10, want: nil},
		{after: 5, want: []uint64{10}, kind: EventResync},
		{after: 1, want: []uint64{10}, kind: EventResync},
		{after: 11, want: []uint64{10}, kind: EventResync}, // from a later boot's numbering, or made up
	}
	for _, tt := range tests {
		for i := range tt.want {
			tt.want[i] += base
		}
		ch := bus.subscribeAfter(ctx, base+tt.after)
		var seqs []uint64
		for len(ch) > 0 {
			ev := <-ch
			seqs = append(seqs, ev.Seq)
			if ev.Kind != tt.kind {
				t.Errorf("after %d: event %d is %s, want %s", tt.after, ev.Seq, ev.Kind, tt.kind)
			}
		}
		if len(seqs) != len(tt.want) || (len(seqs) > 0 && (seqs[0] != tt.want[0] || seqs[len(seqs)-1] != tt.want[len(tt.want)-1])) {
			t.Errorf("after %d: got %v, want %v", tt.after, seqs, tt.want)
		}
	}
}
