package parkd_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

func twoLots(whenFull string) func(*parkd.Config) {
	return func(c *parkd.Config) {
		c.Lots = []parkd.LotConfig{
			{Name: "main", Extension: "700", Slots: "701-702", FindSlot: "first", SlotAction: "auto",
				WhenFull: whenFull, TransferToOccupied: "reject"},
			{Name: "overflow", Extension: "800", Slots: "801-802", FindSlot: "first", SlotAction: "auto",
				WhenFull: "reject", TransferToOccupied: "reject"},
		}
	}
}

// What a full lot does: 486, overflow into another lot, or forward (302).
func TestLotFull(t *testing.T) {
	cases := []struct {
		whenFull string
		status   int
		slot     string // where the third call parks
		contact  string
	}{
		{"reject", 486, "", ""},
		{"overflow:overflow", 200, "801", ""},
		{"forward:sip:operator@pbx.example.com", 302, "", "sip:operator@pbx.example.com"},
	}
	for _, tc := range cases {
		t.Run(tc.whenFull, func(t *testing.T) {
			d := startDaemon(t, twoLots(tc.whenFull))
			for _, slot := range []string{"701", "702"} {
				d.dial(siptest.NewPhone(t, "caller"+slot), "700", 200, siptest.CallOptions{})
				d.waitEvent(parkd.EventParked, slot)
			}
			third := d.dial(siptest.NewPhone(t, "third"), "700", tc.status, siptest.CallOptions{})
			if tc.slot != "" {
				d.waitEvent(parkd.EventParked, tc.slot)
			}
			if tc.contact != "" && !contains(third.Header("Contact"), tc.contact) {
				t.Errorf("302 Contact = %q, want %s", third.Header("Contact"), tc.contact)
			}
			if tc.status >= 300 && !contains(third.Warning(), "full") {
				t.Errorf("Warning = %q, want it to say the lot is full", third.Warning())
			}
		})
	}
}

func TestRejections(t *testing.T) {
	g722 := []byte("v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n")
	cases := []struct {
		name   string
		ext    string
		opts   siptest.CallOptions
		status int
	}{
		{"no common codec", "700", siptest.CallOptions{SDP: g722}, 488},
		{"unknown extension", "555", siptest.CallOptions{}, 404},
		{"malformed SDP", "700", siptest.CallOptions{SDP: []byte("this is not SDP")}, 400},
		{"Replaces naming no parked call", "700", siptest.CallOptions{Headers: [][2]string{{"Replaces", "nosuch@x;to-tag=a;from-tag=b"}}}, 481},
		{"retrieve extension with nothing parked", "*700", siptest.CallOptions{}, 404},
	}
	d := startDaemon(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d.dial(siptest.NewPhone(t, "x"), tc.ext, tc.status, tc.opts)
		})
	}
	for _, v := range d.srv.Snapshot() {
		if v.Call != nil {
			t.Errorf("slot %s occupied after rejected calls", v.Slot)
		}
	}
}

// A transfer into an occupied slot never bridges two callers.
func TestTransferIntoOccupiedSlot(t *testing.T) {
	referred := siptest.CallOptions{Headers: [][2]string{{"Referred-By", "<sip:201@pbx.example.com>"}}}
	t.Run("reject", func(t *testing.T) {
		d := startDaemon(t, nil)
		d.dial(siptest.NewPhone(t, "alice"), "701", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventParked, "701")
		c := d.dial(siptest.NewPhone(t, "bob"), "701", 486, referred)
		if !contains(c.Warning(), "occupied") {
			t.Errorf("Warning = %q, want it to say the slot is occupied", c.Warning())
		}
		if v := d.slot("701"); v.Call == nil || v.Version != 1 {
			t.Errorf("slot 701 = %+v, want still the first call", v)
		}
	})
	t.Run("next_free", func(t *testing.T) {
		d := startDaemon(t, func(c *parkd.Config) { c.Lots[0].TransferToOccupied = "next_free" })
		d.dial(siptest.NewPhone(t, "alice"), "701", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventParked, "701")
		d.dial(siptest.NewPhone(t, "bob"), "701", 200, referred)
		d.waitEvent(parkd.EventParked, "702")
	})
}

// Slot actions and slot selection per lot.
func TestSlotActionsAndSelection(t *testing.T) {
	t.Run("retrieve action refuses to park in an empty slot", func(t *testing.T) {
		d := startDaemon(t, func(c *parkd.Config) { c.Lots[0].SlotAction = "retrieve" })
		d.dial(siptest.NewPhone(t, "alice"), "705", 404, siptest.CallOptions{})
	})
	t.Run("park action refuses an occupied slot", func(t *testing.T) {
		d := startDaemon(t, func(c *parkd.Config) { c.Lots[0].SlotAction = "park" })
		d.dial(siptest.NewPhone(t, "alice"), "705", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventParked, "705")
		d.dial(siptest.NewPhone(t, "bob"), "705", 486, siptest.CallOptions{})
	})
	t.Run("find_slot next moves on after the last used slot", func(t *testing.T) {
		d := startDaemon(t, func(c *parkd.Config) { c.Lots[0].FindSlot = "next" })
		first := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventParked, "701")
		first.Hangup(ctxFor(t, 3*time.Second))
		d.waitEvent(parkd.EventAbandoned, "701")
		d.dial(siptest.NewPhone(t, "bob"), "700", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventParked, "702")
	})
	t.Run("retrieve extension takes the longest-waiting call", func(t *testing.T) {
		d := startDaemon(t, nil)
		d.dial(siptest.NewPhone(t, "alice"), "710", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventParked, "710")
		d.dial(siptest.NewPhone(t, "bob"), "700", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventParked, "701")
		d.dial(siptest.NewPhone(t, "carol"), "*700", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventRetrieved, "710")
		// A freed slot parks the newest call: lowest is not longest waiting.
		d.dial(siptest.NewPhone(t, "dave"), "700", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventParked, "702")
		d.dial(siptest.NewPhone(t, "carol"), "*700", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventRetrieved, "701")
		d.dial(siptest.NewPhone(t, "erin"), "700", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventParked, "701")
		for _, want := range []string{"702", "701"} {
			d.dial(siptest.NewPhone(t, "frank"), "*700", 200, siptest.CallOptions{})
			d.waitEvent(parkd.EventRetrieved, want)
		}
		d.dial(siptest.NewPhone(t, "frank"), "*700", 404, siptest.CallOptions{})
	})
	t.Run("park alias", func(t *testing.T) {
		d := startDaemon(t, nil)
		d.dial(siptest.NewPhone(t, "alice"), "park", 200, siptest.CallOptions{})
		d.waitEvent(parkd.EventParked, "701")
	})
}

// A BLF pickup: an INVITE whose Replaces names the parked call's dialog
// (to-tag parkd's, from-tag the caller's) retrieves that call.
func TestPickupWithReplaces(t *testing.T) {
	d := startDaemon(t, nil)
	parked := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	ev := d.waitEvent(parkd.EventParked, "701")
	replaces := ev.Call.CallID + ";to-tag=" + ev.Call.LocalTag + ";from-tag=" + ev.Call.RemoteTag
	picker := d.dial(siptest.NewPhone(t, "bob"), "701", 200, siptest.CallOptions{Headers: [][2]string{{"Replaces", replaces}}})
	d.waitEvent(parkd.EventRetrieved, "701")
	assertAudio(t, parked, picker)
}

// CANCEL before the answer: 487, and the reserved slot is free again.
func TestCancelBeforeAnswer(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) { c.Lots[0].AnswerDelay = parkd.Duration(3 * time.Second) })
	alice := siptest.NewPhone(t, "alice")
	call, err := alice.Start(ctxFor(t, 5*time.Second), d.uri("700", alice), siptest.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	// The 100 Trying parkd sends first may be recorded after the 180: the
	// phone's stack takes each response on a goroutine of its own.
	for !slices.Contains(call.Provisional(), 180) {
		if time.Now().After(deadline) {
			t.Fatalf("no 180 Ringing before the delayed answer (got %v)", call.Provisional())
		}
		time.Sleep(10 * time.Millisecond)
	}
	res, err := call.Cancel(ctxFor(t, 3*time.Second))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("CANCEL: %v %v", res, err)
	}
	final, err := call.Wait(ctxFor(t, 3*time.Second))
	if err != nil || final.StatusCode != 487 {
		t.Fatalf("INVITE after CANCEL: %v %v, want 487", final, err)
	}
	// The slot the canceled call had reserved is the first one free.
	d.dial(siptest.NewPhone(t, "bob"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
}

// re-INVITE hold and unhold: answered 200 with the reverse direction, and
// music stops while the caller holds and resumes after.
func TestReinviteHoldUnhold(t *testing.T) {
	d := startDaemon(t, nil)
	call := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	if _, err := call.RTP.Collect(ctxFor(t, 3*time.Second), 5, nil); err != nil {
		t.Fatal(err)
	}
	res, err := call.Reinvite(ctxFor(t, 3*time.Second), "inactive")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("hold re-INVITE: %v %v", res, err)
	}
	if !contains(string(res.Body()), "a=inactive") {
		t.Errorf("hold answer lacks a=inactive:\n%s", res.Body())
	}
	time.Sleep(60 * time.Millisecond) // packets already in flight
	if !call.RTP.Silent(300 * time.Millisecond) {
		t.Error("music still arrives while the caller holds")
	}
	res, err = call.Reinvite(ctxFor(t, 3*time.Second), "sendrecv")
	if err != nil || res.StatusCode != 200 || !contains(string(res.Body()), "a=sendrecv") {
		t.Fatalf("unhold re-INVITE: %v %v", res, err)
	}
	if _, err := call.RTP.Collect(ctxFor(t, 3*time.Second), 5, nil); err != nil {
		t.Fatalf("music after unhold: %v", err)
	}
	// A session-refresh UPDATE without SDP is answered too.
	if res, err := call.Request(ctxFor(t, 3*time.Second), sip.UPDATE, "", nil); err != nil || res.StatusCode != 200 {
		t.Fatalf("UPDATE: %v %v", res, err)
	}
	if v := d.slot("701"); v.Call == nil {
		t.Fatal("the call left its slot during hold/unhold")
	}
}

// A parked call whose RTP stops is hung up and its slot freed.
func TestRTPTimeout(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) { c.RTP.Timeout = parkd.Duration(5 * time.Second) })
	call := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bye, err := call.WaitHangup(ctx)
	if err != nil {
		t.Fatalf("a silent parked call was not hung up: %v", err)
	}
	if !contains(bye.String(), "Reason:") {
		t.Errorf("BYE carries no Reason header:\n%s", bye)
	}
	ev := d.waitEvent(parkd.EventHungUp, "701")
	if !contains(ev.Detail, "RTP") {
		t.Errorf("event detail %q, want it to name the RTP timeout", ev.Detail)
	}
}

// Sources outside sip.allow get 403; OPTIONS is answered 200.
func TestAllowListAndOptions(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) { c.SIP.Allow = []string{"10.0.0.0/8"} })
	d.dial(siptest.NewPhone(t, "mallory"), "700", 403, siptest.CallOptions{})

	open := startDaemon(t, nil)
	p := siptest.NewPhone(t, "pinger")
	res, err := p.Options(ctxFor(t, 3*time.Second), "sip:parkd@"+open.udp)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("OPTIONS: %v %v", res, err)
	}
}

// sip.max_pending_invites reaches the endpoint: with one INVITE still
// ringing (the lot answers after a delay) a second gets 503 with
// Retry-After at once, and the first is answered as usual.
func TestMaxPendingInvitesSheds(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) {
		c.SIP.MaxPendingInvites = 1
		c.Lots[0].AnswerDelay = parkd.Duration(time.Second)
	})
	alice := siptest.NewPhone(t, "alice")
	first, err := alice.Start(ctxFor(t, 5*time.Second), d.uri("700", alice), siptest.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bob := siptest.NewPhone(t, "bob")
	second, err := bob.Dial(ctxFor(t, 3*time.Second), d.uri("700", bob), siptest.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if second.Status() != 503 {
		t.Fatalf("the INVITE past sip.max_pending_invites got %d, want 503", second.Status())
	}
	if ra := second.Response().GetHeader("Retry-After"); ra == nil {
		t.Error("503 without Retry-After")
	}
	final, err := first.Wait(ctxFor(t, 3*time.Second))
	if err != nil || final.StatusCode != 200 {
		t.Fatalf("the pending INVITE: %v %v, want 200", final, err)
	}
}
