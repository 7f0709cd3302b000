package parkd_test

import (
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

// Bridge connects a queued call (the attendant's leg, say) to a parked
// call: by slot, or the longest-waiting one when no slot is named.
func TestBridgeQueuedToParked(t *testing.T) {
	for _, slot := range []string{"702", ""} {
		t.Run("slot="+slot, func(t *testing.T) {
			d := startDaemon(t, nil)
			alice := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
			d.waitEvent(parkd.EventParked, "701")
			carol := d.dial(siptest.NewPhone(t, "carol"), "700", 200, siptest.CallOptions{})
			d.waitEvent(parkd.EventParked, "702")
			op := d.dial(siptest.NewPhone(t, "operator"), "0", 200, siptest.CallOptions{})
			q := d.waitEvent(parkd.EventQueued, "")

			v, err := d.srv.Bridge(ctxFor(t, 5*time.Second), q.Call.ID, slot)
			if err != nil {
				t.Fatal(err)
			}
			want, wantSlot := carol, "702"
			if slot == "" {
				want, wantSlot = alice, "701" // parked first
			}
			ev := d.waitEvent(parkd.EventRetrieved, wantSlot)
			if v.State != parkd.CallBridged || v.Peer != ev.Call.ID {
				t.Errorf("bridge answered %+v, want bridged to %s", v, ev.Call.ID)
			}
			assertAudio(t, op, want)
			assertAudio(t, want, op)
		})
	}
}
