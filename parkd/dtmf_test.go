package parkd_test

import (
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/media/prompts"
)

// park_dtmf, like Asterisk's parkcall: in a bridged call Carol dials #72;
// Alice is parked again (in 701, the first free slot) with Carol as her
// parker, Carol hears "parked on seven zero one" and is hung up.
func TestKeypadPark(t *testing.T) {
	r := startBridgeRig(t, func(c *parkd.Config) { c.Lots[0].ParkDTMF = "#72" })
	r.retriever.RTP.Drain()
	if err := r.retriever.RTP.SendDigits(ctxFor(t, 5*time.Second), "#72"); err != nil {
		t.Fatal(err)
	}
	ev := r.waitEvent(parkd.EventParked, "701")
	if ev.Call.CallID != r.parked.CallID() {
		t.Fatalf("701 holds %s, want Alice's call %s", ev.Call.CallID, r.parked.CallID())
	}
	heardSpeech(t, r.retriever, prompts.Builtin().ParkedOn("701").Duration(), "Carol after #72")
	if _, err := r.retriever.WaitHangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Errorf("Carol's leg was not hung up after the announcement: %v", err)
	}
	v := r.slot("701")
	if v.Call == nil || v.Call.Parker == nil || v.Call.Parker.URI != r.carol.URI() || v.Call.ParkerFrom != parkd.ParkerFromKeypad {
		t.Errorf("slot 701 %+v: want Carol as parker, by keypad", v.Call)
	}
	hearsMusic(t, r.parked, "Alice after the keypad park")
}

// Without park_dtmf (the default) the digits are just relayed: nothing is
// parked and the bridge goes on.
func TestKeypadParkOffByDefault(t *testing.T) {
	r := startBridgeRig(t, nil)
	if err := r.retriever.RTP.SendDigits(ctxFor(t, 5*time.Second), "#72"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if v := r.slot("701"); v.State != parkd.SlotFree {
		t.Errorf("with park_dtmf off, #72 left slot 701 %s", v.State)
	}
	if r.retriever.HungUp() {
		t.Error("with park_dtmf off, #72 hung Carol up")
	}
}
