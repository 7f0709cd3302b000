package parkd_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

// nextNotify waits for a REFER NOTIFY and checks its sipfrag status.
func referNotify(t *testing.T, c *siptest.Call, status int, state string) {
	t.Helper()
	n, err := c.NextReferNotify(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatalf("no REFER NOTIFY (want %d): %v", status, err)
	}
	if n.Status != status || n.State != state {
		t.Errorf("REFER NOTIFY says %d %s (%s), want %d (%s)", n.Status, n.Reason, n.State, status, state)
	}
}

func refer(t *testing.T, c *siptest.Call, to string, want int, headers ...[2]string) {
	t.Helper()
	res, err := c.Refer(ctxFor(t, 5*time.Second), to, headers...)
	if err != nil {
		t.Fatalf("REFER %s: %v", to, err)
	}
	if res.StatusCode != want {
		warning := ""
		if h := res.GetHeader("Warning"); h != nil {
			warning = h.Value()
		}
		t.Fatalf("REFER %s: %d %s (Warning: %s), want %d", to, res.StatusCode, res.Reason, warning, want)
	}
}

// Carol REFERs Alice to the park extension: 202, NOTIFY 100 then 200,
// Carol's leg is hung up, and Alice is parked again with Carol as parker.
func TestReferReparks(t *testing.T) {
	r := startBridgeRig(t, nil)
	refer(t, r.retriever, "sip:700@"+r.udp, 202)
	referNotify(t, r.retriever, 100, "active")
	referNotify(t, r.retriever, 200, "terminated")
	ev := r.waitEvent(parkd.EventParked, "701")
	if ev.Call.CallID != r.parked.CallID() {
		t.Errorf("701 holds call %s, want Alice's %s", ev.Call.CallID, r.parked.CallID())
	}
	if _, err := r.retriever.WaitHangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Errorf("the referrer's leg was not hung up: %v", err)
	}
	v := r.slot("701")
	if v.Call == nil || v.Call.Parker == nil || v.Call.Parker.URI != r.carol.URI() || v.Call.ParkerFrom != parkd.ParkerFromRefer {
		t.Errorf("slot 701 %+v: want Carol as parker, by REFER", v.Call)
	}
	hearsMusic(t, r.parked, "Alice after the REFER re-park")
}

// REFERs parkd cannot follow get a 4xx that says why, and the bridge goes on.
func TestReferRefused(t *testing.T) {
	r := startBridgeRig(t, nil)
	dave := siptest.NewPhone(t, "dave")
	r.dial(siptest.NewPhone(t, "erin"), "702", 200, siptest.CallOptions{})
	r.waitEvent(parkd.EventParked, "702")
	cases := []struct {
		name, to string
		want     int
	}{
		{"occupied slot", "sip:702@" + r.udp, 486},
		{"no such extension", "sip:999@" + r.udp, 404},
		{"another host from an untrusted party", dave.URI(), 403},
		{"a name from a REFER", "sip:dave@pbx.example.com", 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { refer(t, r.retriever, tc.to, tc.want) })
	}
	if r.retriever.HungUp() || r.parked.HungUp() {
		t.Fatal("a refused REFER ended the bridge")
	}
	hears(t, r.retriever, r.parked, "after the refused REFERs Carol no longer hears Alice")
}

// A blind transfer from a trusted party: parkd rings Dave, bridges Alice
// to him when he answers, reports 200 to Carol and hangs her leg up.
func TestReferBlindTransfer(t *testing.T) {
	r := startBridgeRig(t, func(c *parkd.Config) { c.SIP.Trusted = []string{"127.0.0.1"} })
	dave := siptest.NewPhone(t, "dave")
	refer(t, r.retriever, dave.URI(), 202)
	referNotify(t, r.retriever, 100, "active")
	in := ringing(t, dave)
	if got := in.Header("Referred-By"); got == "" {
		t.Error("the transfer INVITE carries no Referred-By")
	}
	daveLeg := answer(t, in)
	referNotify(t, r.retriever, 200, "terminated")
	if _, err := r.retriever.WaitHangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Errorf("the referrer's leg was not hung up: %v", err)
	}
	hears(t, daveLeg, r.parked, "Dave does not hear Alice after the transfer")
}

// A blind transfer nobody answers: Carol hears the failure in the final
// NOTIFY and gets Alice back.
func TestReferBlindTransferUnanswered(t *testing.T) {
	r := startBridgeRig(t, func(c *parkd.Config) { c.SIP.Trusted = []string{"127.0.0.1"} })
	dave := siptest.NewPhone(t, "dave")
	refer(t, r.retriever, dave.URI(), 202)
	referNotify(t, r.retriever, 100, "active")
	in := ringing(t, dave)
	if err := in.Reject(486); err != nil {
		t.Fatal(err)
	}
	referNotify(t, r.retriever, 486, "terminated")
	hears(t, r.retriever, r.parked, "Carol did not get Alice back after the failed transfer")
}

// An attended transfer into park from inside a bridge: Carol calls the
// park extension (a consultation call, parked in 702 and announced), then
// REFERs Alice there with Replaces naming it. Alice takes 702; the
// consultation call and Carol's leg to Alice are hung up.
func TestReferAttendedIntoPark(t *testing.T) {
	r := startBridgeRig(t, nil)
	consult := r.dial(r.carol, "700", 200, siptest.CallOptions{})
	r.waitEvent(parkd.EventParked, "701")
	referTo := siptest.ReferTo("sip:700@"+r.udp, consult.CallID(), consult.ToTag(), consult.FromTag())
	refer(t, r.retriever, referTo, 202)
	referNotify(t, r.retriever, 100, "active")
	referNotify(t, r.retriever, 200, "terminated")
	ev := r.waitEvent(parkd.EventParked, "701")
	if ev.Call.CallID != r.parked.CallID() {
		t.Errorf("701 holds %s, want Alice's call %s", ev.Call.CallID, r.parked.CallID())
	}
	for name, c := range map[string]*siptest.Call{"consultation": consult, "referrer": r.retriever} {
		if _, err := c.WaitHangup(ctxFor(t, 5*time.Second)); err != nil {
			t.Errorf("the %s leg was not hung up: %v", name, err)
		}
	}
	hearsMusic(t, r.parked, "Alice after the attended transfer into park")
}

// An attended transfer to a phone outside: Carol talks to Dave directly,
// then REFERs Alice to Dave with Replaces naming that call. parkd INVITEs
// Dave with the Replaces, so Dave's phone swaps Carol for Alice.
func TestReferAttendedToAnotherPhone(t *testing.T) {
	r := startBridgeRig(t, func(c *parkd.Config) { c.SIP.Trusted = []string{"127.0.0.1"} })
	dave := siptest.NewPhone(t, "dave")
	direct, err := r.carol.Start(ctxFor(t, 5*time.Second), dave.URI(), siptest.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	answer(t, ringing(t, dave))
	if _, err := direct.Wait(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	refer(t, r.retriever, siptest.ReferTo(dave.URI(), direct.CallID(), direct.ToTag(), direct.FromTag()), 202)
	referNotify(t, r.retriever, 100, "active")
	in := ringing(t, dave)
	if got := in.Header("Replaces"); got == "" || !contains(got, direct.CallID()) {
		t.Errorf("the transfer INVITE's Replaces is %q, want one naming %s", got, direct.CallID())
	}
	replaced := answer(t, in)
	referNotify(t, r.retriever, 200, "terminated")
	hears(t, replaced, r.parked, "Dave does not hear Alice on the call that replaced Carol's")
}

// Phones hang up as soon as a blind transfer is accepted: the transfer
// goes on without the referrer, Alice hears music while Dave rings, and
// Dave gets her when he answers.
func TestReferBlindTransferReferrerLeaves(t *testing.T) {
	r := startBridgeRig(t, func(c *parkd.Config) { c.SIP.Trusted = []string{"127.0.0.1"} })
	dave := siptest.NewPhone(t, "dave")
	refer(t, r.retriever, dave.URI(), 202)
	if _, err := r.retriever.Hangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	in := ringing(t, dave)
	hearsMusic(t, r.parked, "Alice while the transfer rings")
	if r.parked.HungUp() {
		t.Fatal("the referrer's BYE took the transferred call with it")
	}
	daveLeg := answer(t, in)
	hears(t, daveLeg, r.parked, "Dave does not hear Alice after a transfer whose referrer left")
}

// SIGTERM while a REFER's transfer rings: the ringing phone gets CANCEL
// before parkd exits, like a ringing recall.
func TestShutdownCancelsRingingTransfer(t *testing.T) {
	r := startBridgeRig(t, func(c *parkd.Config) { c.SIP.Trusted = []string{"127.0.0.1"} })
	dave := siptest.NewPhone(t, "dave")
	refer(t, r.retriever, dave.URI(), 202)
	in := ringing(t, dave)
	go r.shutdown()
	waitCanceled(t, "dave", in)
}

// A REFER may replace only the referrer's own other call: a stranger who
// read a parked call's dialog from a BLF body cannot hang it up with a
// Replaces (RFC 3891 §6). The REFER gets 403 and both calls go on.
func TestReferReplacesOnlyOwnCall(t *testing.T) {
	r := startBridgeRig(t, nil)
	erin := siptest.NewPhone(t, "erin")
	victim := r.dial(erin, "702", 200, siptest.CallOptions{})
	r.waitEvent(parkd.EventParked, "702")
	refer(t, r.retriever, siptest.ReferTo("sip:700@"+r.udp, victim.CallID(), victim.ToTag(), victim.FromTag()), 403)
	if victim.HungUp() {
		t.Fatal("a stranger's REFER hung up a parked call")
	}
	if v := r.slot("702"); v.Call == nil || v.Call.CallID != victim.CallID() {
		t.Errorf("slot 702 is %+v after the refused REFER, want Erin's call", v.Call)
	}
}

// A phone hangs up the moment its REFER is accepted, and its BYE may
// reach parkd before parkd has followed the REFER. The other party must be
// out of the bridge by the time the 202 leaves, or that BYE takes it along.
func TestReferrerByeRightAfter202(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target func(r *bridgeRig, dave *siptest.Phone) string
		then   func(t *testing.T, r *bridgeRig, dave *siptest.Phone)
	}{
		{
			name:   "blind transfer",
			target: func(_ *bridgeRig, dave *siptest.Phone) string { return dave.URI() },
			then: func(t *testing.T, r *bridgeRig, dave *siptest.Phone) {
				in := ringing(t, dave)
				hearsMusic(t, r.parked, "Alice while the transfer rings")
				hears(t, answer(t, in), r.parked, "Dave does not hear Alice")
			},
		},
		{
			name:   "into park",
			target: func(r *bridgeRig, _ *siptest.Phone) string { return "sip:700@" + r.udp },
			then: func(t *testing.T, r *bridgeRig, _ *siptest.Phone) {
				if ev := r.waitEvent(parkd.EventParked, "701"); ev.Call.CallID != r.parked.CallID() {
					t.Errorf("701 holds %s, want Alice's call %s", ev.Call.CallID, r.parked.CallID())
				}
				hearsMusic(t, r.parked, "Alice parked by the REFER")
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startBridgeRig(t, func(c *parkd.Config) { c.SIP.Trusted = []string{"127.0.0.1"} })
			dave := siptest.NewPhone(t, "dave")
			byeCtx := ctxFor(t, 5*time.Second)
			bye := make(chan error, 1)
			parkd.SetReferAccepted(r.srv, func() {
				_, err := r.retriever.Hangup(byeCtx) // answered before parkd goes on
				if err == nil {
					err = waitGone(byeCtx, r.srv, r.retriever.CallID())
				}
				bye <- err
			})
			refer(t, r.retriever, tc.target(r, dave), 202)
			if err := <-bye; err != nil {
				t.Fatalf("Carol's BYE: %v", err)
			}
			tc.then(t, r, dave)
			if r.parked.HungUp() {
				t.Error("the referrer's BYE took Alice's call with it")
			}
		})
	}
}

// If the other party hangs up between the 202 and the ringing, nobody is
// rung: the referrer hears 487 in its last NOTIFY and is hung up, having
// nobody left to talk to.
func TestReferOtherPartyLeavesBeforeTheTransferRings(t *testing.T) {
	r := startBridgeRig(t, func(c *parkd.Config) { c.SIP.Trusted = []string{"127.0.0.1"} })
	dave := siptest.NewPhone(t, "dave")
	byeCtx := ctxFor(t, 5*time.Second)
	bye := make(chan error, 1)
	parkd.SetReferAccepted(r.srv, func() {
		_, err := r.parked.Hangup(byeCtx)
		if err == nil {
			// The 200 to a BYE leaves a moment before parkd is done
			// ending the call.
			err = waitGone(byeCtx, r.srv, r.parked.CallID())
		}
		bye <- err
	})
	refer(t, r.retriever, dave.URI(), 202)
	if err := <-bye; err != nil {
		t.Fatalf("Alice's BYE: %v", err)
	}
	referNotify(t, r.retriever, 100, "active")
	referNotify(t, r.retriever, 487, "terminated")
	if _, err := r.retriever.WaitHangup(ctxFor(t, 5*time.Second)); err != nil {
		t.Errorf("Carol, left alone, was not hung up: %v", err)
	}
	if n := dave.IncomingCount(); n != 0 {
		t.Errorf("Dave got %d INVITEs for a caller who had already gone", n)
	}
}

// waitGone waits until srv no longer lists the call with callID.
func waitGone(ctx context.Context, srv *parkd.Server, callID string) error {
	for {
		calls, err := srv.Calls(ctx, parkd.CallFilter{})
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(calls, func(c parkd.CallView) bool { return c.CallID == callID }) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("call %s still listed: %w", callID, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
