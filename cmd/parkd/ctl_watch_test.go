package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
)

// watch prints each event, resubscribes after the last Seq when the stream
// ends, and exits 0 when interrupted.
func TestWatch(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		first := make(chan parkd.Event, 4)
		first <- parkd.Event{Seq: 7, Time: t0, Kind: parkd.EventParked, Lot: "main", Slot: "701", Call: &parkedCall}
		first <- parkd.Event{Seq: 8, Time: t0.Add(time.Second), Kind: parkd.EventSubscribers, Lot: "main", Slot: "701", Subscribers: 3}
		close(first) // the daemon restarts
		second := make(chan parkd.Event, 4)
		second <- parkd.Event{Seq: 9, Time: t0.Add(2 * time.Second), Kind: parkd.EventQueued, Lot: "main", Call: &queuedCall}
		second <- parkd.Event{Seq: 10, Time: t0.Add(3 * time.Second), Kind: parkd.EventMoved, Lot: "main", Slot: "701", Call: &parkedCall, Detail: "to 705"}
		fake := &fakeClient{
			streams: []chan parkd.Event{first, second},
			subErrs: []error{nil, &parkd.Error{Code: parkd.CodeUnavailable, Message: "cannot reach parkd"}, nil},
		}

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		var code int
		var stdout, stderr string
		go func() {
			defer close(done)
			args := []string{"ctl", "watch"}
			if asJSON {
				args = append(args, "--json")
			}
			code, stdout, stderr = runCtl(t, ctx, fake, false, args...)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(fake.log(), "Subscribe(8)\nSubscribe(8)") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		// Let the second stream's events through, then interrupt.
		for len(second) > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done

		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		if got, want := fake.log(), "Subscribe(0)\nSubscribe(8)\nSubscribe(8)"; got != want {
			t.Errorf("subscriptions:\n%s\nwant:\n%s", got, want)
		}
		if !strings.Contains(stderr, "retrying in") || !strings.Contains(stderr, "ended after event 8") {
			t.Errorf("stderr does not say it reconnects:\n%s", stderr)
		}
		if asJSON {
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if len(lines) != 4 {
				t.Fatalf("want 4 JSON lines, got:\n%s", stdout)
			}
			for i, line := range lines {
				var ev parkd.Event
				if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Seq != uint64(7+i) {
					t.Errorf("line %d %q: %v %+v", i, line, err, ev)
				}
			}
			continue
		}
		want := `09:30:00 parked 701 Alice <sip:alice@10.0.0.1>
09:30:01 subscribers 701 3 watching
09:30:02 queued q1 Bob <sip:201@10.0.0.2>
09:30:03 moved 701 Alice <sip:alice@10.0.0.1> (to 705)
`
		if stdout != want {
			t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
		}
	}
}

// A watch that cannot start (wrong token, no daemon) fails at once.
func TestWatchFirstSubscribeFails(t *testing.T) {
	fake := &fakeClient{subErrs: []error{&parkd.Error{Code: parkd.CodeUnauthorized, Message: "unauthorized"}}}
	code, _, stderr := runCtl(t, t.Context(), fake, false, "ctl", "watch")
	if code != 1 || stderr != "parkd ctl: unauthorized\n" {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// After it has started, only a daemon that is away is retried; a refusal
// ends the watch.
func TestWatchStopsOnRefusal(t *testing.T) {
	first := make(chan parkd.Event)
	close(first)
	fake := &fakeClient{
		streams: []chan parkd.Event{first},
		subErrs: []error{nil, &parkd.Error{Code: parkd.CodeUnauthorized, Message: "unauthorized"}},
	}
	code, _, stderr := runCtl(t, t.Context(), fake, false, "ctl", "watch")
	if code != 1 || !strings.HasSuffix(stderr, "parkd ctl: unauthorized\n") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestEventLine(t *testing.T) {
	c := &ctl{env: &env{now: func() time.Time { return t0 }}}
	cases := []struct {
		ev   parkd.Event
		want string
	}{
		{parkd.Event{Time: t0, Kind: parkd.EventResync}, "09:30:00 resync (events were missed: take a fresh look with slots and calls)"},
		{parkd.Event{Kind: parkd.EventPolicy, Slot: "701", Lot: "main"}, "09:30:00 policy 701"},
		{parkd.Event{Time: t0, Kind: parkd.EventRingFailed, Lot: "main", Call: &ringingCall, Detail: "sip:op@pbx: 486 Busy Here"},
			"09:30:00 ring_failed c3 Alice <sip:alice@10.0.0.1> (sip:op@pbx: 486 Busy Here)"},
		{parkd.Event{Time: t0, Kind: parkd.EventEnded, Lot: "main", Call: &parkd.CallView{ID: "q7"}, Detail: "caller hung up"},
			"09:30:00 ended q7 (caller hung up)"},
	}
	for _, tc := range cases {
		if got := c.eventLine(tc.ev); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
