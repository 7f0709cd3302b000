package parkd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

// apiID is the API id of the call with callID.
func apiID(t *testing.T, srv *parkd.Server, callID string) string {
	t.Helper()
	calls, err := srv.Calls(ctxFor(t, time.Second), parkd.CallFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if c.CallID == callID {
			return c.ID
		}
	}
	t.Fatalf("no call %s in the API", callID)
	return ""
}

// Carol, talking to Alice, transfers her from the console to Dave and puts
// her handset down while Dave rings: Alice hears music, not a hang-up, and
// goes to Dave if he answers, or back into park with Carol as parker if he
// does not.
func TestAttendantHangsUpWhileHerTransferRings(t *testing.T) {
	for _, tc := range []struct {
		name string
		dave func(t *testing.T, r *bridgeRig, in *siptest.Incoming)
	}{
		{"answered", func(t *testing.T, r *bridgeRig, in *siptest.Incoming) {
			hears(t, answer(t, in), r.parked, "Dave does not hear Alice")
		}},
		{"refused", func(t *testing.T, r *bridgeRig, in *siptest.Incoming) {
			if err := in.Reject(486); err != nil {
				t.Fatal(err)
			}
			ev := r.waitEvent(parkd.EventParked, "701")
			if ev.Call.CallID != r.parked.CallID() || ev.Call.Parker == nil || !strings.Contains(ev.Call.Parker.URI, "carol@") || ev.Call.ParkerFrom != parkd.ParkerFromAPI {
				t.Errorf("701 after the refused transfer: %+v, want Alice parked by Carol", ev.Call)
			}
			hearsMusic(t, r.parked, "Alice parked again")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startBridgeRig(t, nil)
			dave := siptest.NewPhone(t, "dave")
			if _, err := r.srv.Transfer(ctxFor(t, time.Second), apiID(t, r.srv, r.parked.CallID()), dave.URI()); err != nil {
				t.Fatal(err)
			}
			in := ringing(t, dave)
			if res, err := r.retriever.Hangup(ctxFor(t, 5*time.Second)); err != nil || res.StatusCode != 200 {
				t.Fatalf("Carol's BYE: %v %v", res, err)
			}
			hearsMusic(t, r.parked, "Alice while her transfer rings, Carol gone")
			if r.parked.HungUp() {
				t.Fatal("Carol's hang-up took Alice with it")
			}
			tc.dave(t, r, in)
			if r.parked.HungUp() {
				t.Error("Alice was hung up")
			}
		})
	}
}
