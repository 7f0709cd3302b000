package parkd_test

import (
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/media/prompts"
	"github.com/parkd/parkd/sipcore/siptest"
)

// replacing is the Replaces header an attended transfer's caller sends to
// take the place of consult, parkd's leg of the consultation call.
func replacing(consult *siptest.Call) string {
	return consult.CallID() + ";to-tag=" + consult.ToTag() + ";from-tag=" + consult.FromTag()
}

// An attended park as phones do it: Bob puts Alice on hold and calls the
// park extension; parkd answers, parks that consultation call in 701 and
// says "parked on seven zero one". Bob completes the transfer: Alice's
// INVITE replaces the consultation call, takes 701 and hears music, Bob's
// consultation leg gets BYE, and Bob is Alice's parker.
func TestAttendedPark(t *testing.T) {
	d := startDaemon(t, nil)
	bob := siptest.NewPhone(t, "bob", siptest.WithDisplay("Bob"))
	alice := siptest.NewPhone(t, "alice", siptest.WithDisplay("Alice"))

	consult := d.dial(bob, "700", 200, siptest.CallOptions{})
	ev := d.waitEvent(parkd.EventParked, "701")
	if ev.Call.Caller.URI != bob.URI() {
		t.Fatalf("701 holds %s, want the consultation call from %s", ev.Call.Caller.URI, bob.URI())
	}
	heardSpeech(t, consult, prompts.Builtin().ParkedOn("701").Duration(), "the consultation call")

	parked := d.dial(alice, "700", 200, siptest.CallOptions{Headers: [][2]string{
		{"Replaces", replacing(consult)}, {"Referred-By", "<" + bob.URI() + ">"},
	}})
	ev = d.waitEvent(parkd.EventParked, "701")
	if ev.Call.Caller.URI != alice.URI() {
		t.Errorf("after the attended park 701 holds %s, want Alice %s", ev.Call.Caller.URI, alice.URI())
	}
	if _, err := consult.WaitHangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Errorf("the consultation leg was not hung up: %v", err)
	}
	v := d.slot("701")
	if v.State != parkd.SlotParked || v.Call == nil || v.Call.Caller.URI != alice.URI() {
		t.Fatalf("slot 701 is %+v, want Alice parked", v)
	}
	if v.Call.Parker == nil || v.Call.Parker.URI != bob.URI() || v.Call.ParkerFrom != parkd.ParkerFromAttended {
		t.Errorf("parker %+v from %q, want Bob by %q", v.Call.Parker, v.Call.ParkerFrom, parkd.ParkerFromAttended)
	}
	hearsMusic(t, parked, "Alice after the attended park")
}

// No Replaces within attended_timeout: the consultation call stays parked
// where it was announced, and from then on an INVITE naming it is a plain
// BLF pickup that takes it out.
func TestAttendedParkWithoutReplacesStaysParked(t *testing.T) {
	clock := parkd.NewManualClock(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	d := startDaemon(t, func(c *parkd.Config) { c.Lots[0].AttendedTimeout = parkd.Duration(10 * time.Second) }, parkd.WithClock(clock))
	bob := siptest.NewPhone(t, "bob")
	consult := d.dial(bob, "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	clock.Advance(11 * time.Second)

	v := d.slot("701")
	if v.State != parkd.SlotParked || v.Call.CallID != consult.CallID() {
		t.Fatalf("after attended_timeout slot 701 is %+v, want the consultation call still parked", v)
	}
	carol := siptest.NewPhone(t, "carol")
	picked := d.dial(carol, "700", 200, siptest.CallOptions{Headers: [][2]string{{"Replaces", replacing(consult)}}})
	d.waitEvent(parkd.EventRetrieved, "701")
	if consult.HungUp() {
		t.Error("a pickup after attended_timeout hung up the parked call instead of bridging it")
	}
	assertAudio(t, consult, picked) // the pickup hears the parked call
}

// A lot with announce_slot: false parks a self-parked call straight into
// music: the first sound it hears is not cut short by a second one.
func TestAnnounceSlotOff(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) { c.Lots[0].AnnounceSlot = new(bool) })
	consult := d.dial(siptest.NewPhone(t, "bob"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	parts := segments(listen(t, consult, 2500*time.Millisecond), consult.RTP.Codec())
	if len(parts) != 1 {
		t.Errorf("with announce_slot off the caller heard %d parts (%+v), want music alone", len(parts), parts)
	}
}

// A retrieve that finds nothing: by default 404; with empty_slot: prompt
// the caller hears "no call parked here" and then parkd hangs up.
func TestEmptySlotPrompt(t *testing.T) {
	t.Run("reject", func(t *testing.T) {
		d := startDaemon(t, nil)
		d.dial(siptest.NewPhone(t, "carol"), "*700", 404, siptest.CallOptions{})
	})
	t.Run("prompt", func(t *testing.T) {
		d := startDaemon(t, func(c *parkd.Config) { c.Lots[0].EmptySlot = parkd.EmptySlotPrompt })
		c := d.dial(siptest.NewPhone(t, "carol"), "*700", 200, siptest.CallOptions{})
		heardSpeech(t, c, prompts.Builtin().Clip(prompts.NoCallParked).Duration(), "a retrieve of an empty lot")
		if _, err := c.WaitHangup(ctxFor(t, 3*time.Second)); err != nil {
			t.Errorf("parkd did not hang up after the prompt: %v", err)
		}
	})
}

// Only the consultation phone's transferee completes an attended park: an
// INVITE whose Referred-By names someone else is a plain pickup, so a
// stranger cannot hang up a call that has just parked itself.
func TestAttendedParkNeedsTheConsultant(t *testing.T) {
	d := startDaemon(t, nil)
	bob := siptest.NewPhone(t, "bob")
	consult := d.dial(bob, "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	mallory := siptest.NewPhone(t, "mallory")
	d.dial(mallory, "700", 200, siptest.CallOptions{Headers: [][2]string{
		{"Replaces", replacing(consult)}, {"Referred-By", "<sip:nobody@192.0.2.1>"},
	}})
	d.waitEvent(parkd.EventRetrieved, "701")
	if consult.HungUp() {
		t.Fatal("an INVITE with a stranger's Referred-By hung up the self-parked call")
	}
}

// A transferee whose INVITE carries no Referred-By looks like a pickup and
// is bridged to the consultation call. When the transferor then hangs that
// call up, the caller is not lost with it: it is parked, the transferor as
// its parker.
func TestAttendedParkWithoutReferredBy(t *testing.T) {
	d := startDaemon(t, nil)
	bob := siptest.NewPhone(t, "bob")
	alice := siptest.NewPhone(t, "alice")
	consult := d.dial(bob, "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	caller := d.dial(alice, "700", 200, siptest.CallOptions{Headers: [][2]string{{"Replaces", replacing(consult)}}})
	d.waitEvent(parkd.EventRetrieved, "701")
	if _, err := consult.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	ev := d.waitEvent(parkd.EventParked, "701")
	if ev.Call.CallID != caller.CallID() {
		t.Fatalf("701 holds %s, want Alice's call %s", ev.Call.CallID, caller.CallID())
	}
	if ev.Call.Parker == nil || ev.Call.Parker.URI != bob.URI() {
		t.Errorf("parker %+v, want Bob (the transferor)", ev.Call.Parker)
	}
	if caller.HungUp() {
		t.Fatal("Alice was hung up with the consultation call")
	}
	hearsMusic(t, caller, "Alice parked after the consultation call ended")
}

// A real pickup of a call that parked itself, whose caller hangs up after
// talking a while: the one who picked up is hung up as after any bridge,
// not parked.
func TestPickupOfSelfParkedCallEndsNormally(t *testing.T) {
	clock := parkd.NewManualClock(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	d := startDaemon(t, nil, parkd.WithClock(clock))
	caller := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	picker := d.dial(siptest.NewPhone(t, "reception"), "700", 200, siptest.CallOptions{Headers: [][2]string{{"Replaces", replacing(caller)}}})
	d.waitEvent(parkd.EventRetrieved, "701")
	clock.Advance(30 * time.Second) // they talk
	if _, err := caller.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := picker.WaitHangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Errorf("the one who picked up was not hung up when the caller left: %v", err)
	}
	if v := d.slot("701"); v.State != parkd.SlotFree {
		t.Errorf("slot 701 is %s, want free", v.State)
	}
}

// A phone that hangs up its consultation call before its transferee's
// INVITE arrives: the INVITE, naming the call that has just ended, still
// parks the caller in that slot, with the phone as parker.
func TestAttendedParkAfterConsultationHungUp(t *testing.T) {
	d := startDaemon(t, nil)
	bob := siptest.NewPhone(t, "bob")
	consult := d.dial(bob, "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	if _, err := consult.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	d.waitEvent(parkd.EventAbandoned, "701")
	alice := siptest.NewPhone(t, "alice")
	parked := d.dial(alice, "700", 200, siptest.CallOptions{Headers: [][2]string{
		{"Replaces", replacing(consult)}, {"Referred-By", "<" + bob.URI() + ">"},
	}})
	ev := d.waitEvent(parkd.EventParked, "701")
	if ev.Call.CallID != parked.CallID() || ev.Call.Parker == nil || ev.Call.Parker.URI != bob.URI() {
		t.Errorf("701 holds %+v, want Alice parked by Bob", ev.Call)
	}
	// It is taken once: a second INVITE naming it gets 481.
	d.dial(siptest.NewPhone(t, "mallory"), "700", 481, siptest.CallOptions{Headers: [][2]string{
		{"Replaces", replacing(consult)}, {"Referred-By", "<" + bob.URI() + ">"},
	}})
}

// The same transferee without Referred-By, but its transferor hangs the
// consultation call up before the transferee's ACK reached parkd (lost,
// or late): Alice is parked all the same, not hung up with that call.
func TestAttendedParkWithoutReferredByConsultEndsBeforeTheAck(t *testing.T) {
	d := startDaemon(t, nil)
	bob := siptest.NewPhone(t, "bob")
	alice := siptest.NewPhone(t, "alice")
	consult := d.dial(bob, "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	caller := d.dial(alice, "700", 200, siptest.CallOptions{Headers: [][2]string{{"Replaces", replacing(consult)}}, NoAck: true})
	if res, err := consult.Hangup(ctxFor(t, 5*time.Second)); err != nil || res.StatusCode != 200 {
		t.Fatalf("Bob's BYE: %v %v", res, err)
	}
	ev := d.waitEvent(parkd.EventParked, "701")
	if ev.Call.CallID != caller.CallID() {
		t.Fatalf("701 holds %s, want Alice's call %s", ev.Call.CallID, caller.CallID())
	}
	if ev.Call.Parker == nil || ev.Call.Parker.URI != bob.URI() {
		t.Errorf("parker %+v, want Bob (the transferor)", ev.Call.Parker)
	}
	caller.SendAck()
	if caller.HungUp() {
		t.Fatal("Alice was hung up with the consultation call")
	}
	hearsMusic(t, caller, "Alice parked after the consultation call ended")
}
