package clienttest_test

import (
	"context"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/clienttest"
	"github.com/parkd/parkd/sipcore/siptest"
)

// next reads one event or fails the test.
func next(t *testing.T, ch <-chan parkd.Event) parkd.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("event stream closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return parkd.Event{}
}

// A subscriber that drops mid-stream and comes back with the last event
// it saw gets every event it missed, once each; one that comes back after
// the window has moved on is told to resync.
func TestSubscribeResumes(t *testing.T) {
	for _, impl := range clienttest.Clients {
		t.Run(impl.Name, func(t *testing.T) {
			t.Parallel()
			d := clienttest.Start(t, nil, parkd.WithEventWindow(8))
			c := impl.Of(d)

			first, cancel := context.WithCancel(context.Background())
			stream, err := c.Subscribe(first, 0)
			if err != nil {
				t.Fatal(err)
			}
			d.Dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
			seen := next(t, stream)
			if seen.Kind != parkd.EventParked || seen.Slot != "701" {
				t.Fatalf("first event %s %s, want parked 701", seen.Kind, seen.Slot)
			}
			cancel() // the client drops

			for _, slot := range []string{"702", "703"} {
				d.Dial(siptest.NewPhone(t, "caller"+slot), "700", 200, siptest.CallOptions{})
				d.WaitEvent(parkd.EventParked, slot)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			resumed, err := c.Subscribe(ctx, seen.Seq)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for len(got) < 2 {
				ev := next(t, resumed)
				if ev.Seq <= seen.Seq {
					t.Fatalf("resumed stream repeats event %d (asked for events after %d)", ev.Seq, seen.Seq)
				}
				if ev.Kind == parkd.EventParked {
					got[ev.Slot]++
				}
			}
			// Anything more would be a duplicate: another call changes
			// something, and its event must be the next one.
			d.Dial(siptest.NewPhone(t, "dave"), "700", 200, siptest.CallOptions{})
			if ev := next(t, resumed); ev.Kind != parkd.EventParked || ev.Slot != "704" {
				t.Errorf("after the missed events came %s %s, want parked 704", ev.Kind, ev.Slot)
			}
			if got["702"] != 1 || got["703"] != 1 {
				t.Errorf("missed events delivered %v, want 702 and 703 once each", got)
			}

			// Past the window (8 events): the first event is a resync.
			for i := 0; i < 8; i++ {
				d.Dial(siptest.NewPhone(t, "more"), "700", 200, siptest.CallOptions{})
				d.WaitEvent(parkd.EventParked, "")
			}
			late, err := c.Subscribe(ctx, seen.Seq)
			if err != nil {
				t.Fatal(err)
			}
			if ev := next(t, late); ev.Kind != parkd.EventResync || ev.Seq < seen.Seq+8 {
				t.Errorf("late resume got %s (seq %d), want resync at the newest seq", ev.Kind, ev.Seq)
			}
		})
	}
}
