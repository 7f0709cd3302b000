package parkd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

// A call to the attendant extension is answered, hears music on hold and
// waits in the queue with its identity and position; past queue_max the
// next caller gets 486.
func TestAttendantQueue(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) { c.Lots[0].QueueMax = 2 })
	var calls []*siptest.Call
	for i, name := range []string{"alice", "bob"} {
		p := siptest.NewPhone(t, name, siptest.WithDisplay(strings.ToUpper(name[:1])+name[1:]))
		calls = append(calls, d.dial(p, "0", 200, siptest.CallOptions{}))
		ev := d.waitEvent(parkd.EventQueued, "")
		if ev.Lot != "main" || ev.Call.Position != i+1 || ev.Call.State != parkd.CallQueued || !strings.Contains(ev.Call.Caller.URI, name+"@") {
			t.Fatalf("queued event %+v (call %+v), want %s at position %d in main", ev, ev.Call, name, i+1)
		}
	}
	pkts, err := calls[0].RTP.Collect(ctxFor(t, 3*time.Second), 10, nil)
	if err != nil {
		t.Fatalf("music on hold in the queue: %v", err)
	}
	checkStream(t, pkts, 0)

	carol := siptest.NewPhone(t, "carol")
	c := d.dial(carol, "0", 486, siptest.CallOptions{})
	if !strings.Contains(c.Warning(), "queue") {
		t.Errorf("486 Warning %q, want it to say the queue is full", c.Warning())
	}

	// The first caller hangs up: the second moves up to position 1.
	if _, err := calls[0].Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	ev := d.waitEvent(parkd.EventDequeued, "")
	if !strings.Contains(ev.Detail, "remote hung up") {
		t.Errorf("dequeued detail %q, want the caller hung up", ev.Detail)
	}
	queued, err := d.srv.Calls(ctxFor(t, time.Second), parkd.CallFilter{State: parkd.CallQueued})
	if err != nil || len(queued) != 1 || queued[0].Position != 1 || !strings.Contains(queued[0].Caller.URI, "bob@") {
		t.Errorf("queue after alice left: %+v (%v), want bob at position 1", queued, err)
	}
}

// queue_timeout with queue_overflow: hangup ends the call with a BYE
// that says why; forward:<uri> rings the URI and bridges it.
func TestQueueTimeout(t *testing.T) {
	t.Run("hangup", func(t *testing.T) {
		clock := parkd.NewManualClock(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
		d := startDaemon(t, func(c *parkd.Config) { c.Lots[0].QueueTimeout = parkd.Duration(time.Minute) }, parkd.WithClock(clock))
		alice := siptest.NewPhone(t, "alice")
		call := d.dial(alice, "0", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventQueued, "")
		clock.Advance(time.Minute)
		bye, err := call.WaitHangup(ctxFor(t, 5*time.Second))
		if err != nil {
			t.Fatalf("no BYE after queue_timeout: %v", err)
		}
		if reason := bye.GetHeader("Reason"); reason == nil || !strings.Contains(reason.Value(), "queue") {
			t.Errorf("BYE Reason %v, want it to say the caller waited in the queue", reason)
		}
		if ev := d.waitEvent(parkd.EventDequeued, ""); !strings.Contains(ev.Detail, "waited 1m") {
			t.Errorf("dequeued detail %q, want the timeout", ev.Detail)
		}
	})
	t.Run("forward", func(t *testing.T) {
		clock := parkd.NewManualClock(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
		vm := siptest.NewPhone(t, "voicemail")
		d := startDaemon(t, func(c *parkd.Config) {
			c.Lots[0].QueueTimeout = parkd.Duration(time.Minute)
			c.Lots[0].QueueOverflow = "forward:" + vm.URI()
		}, parkd.WithClock(clock))
		alice := siptest.NewPhone(t, "alice")
		call := d.dial(alice, "0", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventQueued, "")
		clock.Advance(time.Minute)
		if ev := d.waitEvent(parkd.EventRinging, ""); ev.Detail != vm.URI() {
			t.Errorf("ringing %q, want the overflow target %s", ev.Detail, vm.URI())
		}
		vmCall := answer(t, ringing(t, vm))
		d.waitEvent(parkd.EventDequeued, "")
		assertAudio(t, call, vmCall)
	})
}
