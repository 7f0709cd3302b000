package parkd_test

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

// hearsMusic fails the test unless music on hold reaches the call.
func hearsMusic(t *testing.T, c *siptest.Call, when string) {
	t.Helper()
	c.RTP.Drain()
	if _, err := c.RTP.Collect(ctxFor(t, 2*time.Second), 5, nil); err != nil {
		t.Fatalf("%s: the parked caller hears nothing: %v", when, err)
	}
}

// noSlotEvents fails the test if the slot emitted anything but subscriber
// counts since the last read: a failed retrieve must not show the call
// leaving or coming back.
func noSlotEvents(t *testing.T, d *daemon, slot string) {
	t.Helper()
	for {
		select {
		case ev := <-d.events:
			if ev.Slot == slot && ev.Kind != parkd.EventSubscribers {
				t.Errorf("slot %s emitted %s (%s) during a retrieve that never completed", slot, ev.Kind, ev.Detail)
			}
		default:
			return
		}
	}
}

// A retriever whose ACK never comes: the parked caller keeps its music
// and its slot (the BLF key does not flicker), and after 64*T1 the
// retriever's leg gets a BYE and the call is parked as before, ready for
// the next retrieve. Every way of retrieving from SIP behaves alike.
func TestRetrieveWithoutAckKeepsTheCallParked(t *testing.T) {
	paths := []struct {
		name string
		dial func(ev parkd.Event) (ext string, opts siptest.CallOptions)
	}{
		{"dial the slot", func(parkd.Event) (string, siptest.CallOptions) { return "701", siptest.CallOptions{} }},
		{"retrieve extension", func(parkd.Event) (string, siptest.CallOptions) { return "*700", siptest.CallOptions{} }},
		{"Replaces pickup", func(ev parkd.Event) (string, siptest.CallOptions) {
			replaces := ev.Call.CallID + ";to-tag=" + ev.Call.LocalTag + ";from-tag=" + ev.Call.RemoteTag
			return "701", siptest.CallOptions{Headers: [][2]string{{"Replaces", replaces}}}
		}},
	}
	for _, path := range paths {
		t.Run(path.name, func(t *testing.T) {
			clock := parkd.NewManualClock(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
			d := startDaemon(t, nil, parkd.WithClock(clock))
			watcher := d.subscribe(siptest.NewPhone(t, "watcher"), "701", 200, siptest.SubscribeOptions{Expires: 600})
			nextDialogInfo(t, watcher)
			parked := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
			ev := d.waitEvent(parkd.EventParked, "701")
			if _, info := nextDialogInfo(t, watcher); len(info.Dialogs) != 1 {
				t.Fatalf("after park the key shows %d dialogs, want 1", len(info.Dialogs))
			}

			armed := clock.Armed()
			ext, opts := path.dial(ev)
			opts.NoAck = true
			lost := d.dial(siptest.NewPhone(t, "carol"), ext, 200, opts)
			select {
			case <-armed:
			case <-time.After(5 * time.Second):
				t.Fatal("parkd set no ACK timer for the retrieve")
			}
			if v := d.slot("701"); v.Call == nil || v.Call.CallID != parked.CallID() {
				t.Fatalf("waiting for the ACK, slot 701 holds %+v; want the parked call", v.Call)
			}
			hearsMusic(t, parked, "waiting for the retriever's ACK")

			clock.Advance(64 * sip.T1)
			if _, err := lost.WaitHangup(ctxFor(t, 5*time.Second)); err != nil {
				t.Fatalf("the unACKed retriever got no BYE: %v", err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for d.slot("701").State != parkd.SlotParked {
				if time.Now().After(deadline) {
					t.Fatalf("slot 701 is %s after the ACK timeout, want parked", d.slot("701").State)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if v := d.slot("701"); v.Call == nil || v.Call.CallID != parked.CallID() {
				t.Fatalf("after the ACK timeout slot 701 holds %+v; want the parked call", v.Call)
			}
			noSlotEvents(t, d, "701")
			if n := watcher.Pending(); n != 0 {
				t.Errorf("the BLF watcher got %d NOTIFYs during a retrieve that never completed; the key must not flicker", n)
			}
			hearsMusic(t, parked, "after the failed retrieve")

			again := d.dial(siptest.NewPhone(t, "dave"), "701", 200, siptest.CallOptions{})
			d.waitEvent(parkd.EventRetrieved, "701")
			assertAudio(t, parked, again)
			assertAudio(t, again, parked)
		})
	}
}

// An ACK that comes late still completes the retrieve: the call is
// bridged only then, and keeps its music until it is.
func TestRetrieveBridgesOnceAcked(t *testing.T) {
	d := startDaemon(t, nil)
	parked := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	retriever := d.dial(siptest.NewPhone(t, "carol"), "701", 200, siptest.CallOptions{NoAck: true})
	hearsMusic(t, parked, "before the retriever's ACK")
	if v := d.slot("701"); v.State != parkd.SlotRetrieving || v.Call == nil {
		t.Fatalf("before the ACK slot 701 is %s holding %+v; want retrieving, still holding the call", v.State, v.Call)
	}
	noSlotEvents(t, d, "701")

	retriever.SendAck()
	ev := d.waitEvent(parkd.EventRetrieved, "701")
	if ev.Call.CallID != parked.CallID() {
		t.Errorf("retrieved %s, want %s", ev.Call.CallID, parked.CallID())
	}
	assertAudio(t, parked, retriever)
	assertAudio(t, retriever, parked)
}

// The parked caller hangs up while the retriever's ACK is awaited: the
// slot frees as for any abandoned call and the retriever gets a BYE
// rather than a call with nobody on it.
func TestParkedCallerLeavesBeforeRetrieverAck(t *testing.T) {
	d := startDaemon(t, nil)
	parked := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	retriever := d.dial(siptest.NewPhone(t, "carol"), "701", 200, siptest.CallOptions{NoAck: true})
	if _, err := parked.Hangup(ctxFor(t, 3*time.Second)); err != nil {
		t.Fatal(err)
	}
	d.waitEvent(parkd.EventAbandoned, "701")
	if _, err := retriever.WaitHangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("the retriever got no BYE after the parked caller left: %v", err)
	}
	if v := d.slot("701"); v.State != parkd.SlotFree {
		t.Errorf("slot 701 is %s, want free", v.State)
	}
}

// A retriever whose BYE comes right behind its ACK (a busy parkd reads
// both at once) still took the call: the parked caller is hung up with it
// and the slot is free, whichever of the two parkd handles first; it is
// never left parked for a recall nobody expects.
func TestRetrieverHangsUpRightAfterAck(t *testing.T) {
	for range 5 {
		d := startDaemon(t, nil)
		parked := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventParked, "701")
		retriever := d.dial(siptest.NewPhone(t, "carol"), "701", 200, siptest.CallOptions{NoAck: true})
		retriever.SendAck()
		if _, err := retriever.Hangup(ctxFor(t, 3*time.Second)); err != nil {
			t.Fatal(err)
		}
		d.waitEvent(parkd.EventRetrieved, "701")
		if _, err := parked.WaitHangup(ctxFor(t, 5*time.Second)); err != nil {
			t.Fatalf("the parked caller got no BYE after its retriever took the call and hung up: %v", err)
		}
		if v := d.slot("701"); v.State != parkd.SlotFree {
			t.Errorf("slot 701 is %s, want free", v.State)
		}
		d.shutdown()
	}
}
