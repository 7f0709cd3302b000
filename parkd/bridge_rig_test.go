package parkd_test

import (
	"context"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

// bridgeRig: Alice was parked in 701 by Bob and Carol picked her up, so
// parkd holds both legs of Alice <-> Carol.
type bridgeRig struct {
	*daemon
	alice, carol *siptest.Phone
	parked       *siptest.Call // Alice's leg
	retriever    *siptest.Call // Carol's leg
}

func startBridgeRig(t *testing.T, edit func(*parkd.Config)) *bridgeRig {
	t.Helper()
	r := &bridgeRig{daemon: startDaemon(t, edit)}
	r.alice = siptest.NewPhone(t, "alice", siptest.WithDisplay("Alice"))
	r.carol = siptest.NewPhone(t, "carol", siptest.WithDisplay("Carol"))
	bob := siptest.NewPhone(t, "bob")
	r.parked = r.dial(r.alice, "700", 200, siptest.CallOptions{Headers: [][2]string{{"Referred-By", "<" + bob.URI() + ">"}}})
	r.waitEvent(parkd.EventParked, "701")
	r.retriever = r.dial(r.carol, "701", 200, siptest.CallOptions{})
	r.waitEvent(parkd.EventRetrieved, "701")
	return r
}

// hears fails unless audio from speaker reaches listener through parkd
// within 3 s; speaker keeps talking meanwhile, as phones do, so a bridge
// that is set up a moment later still counts.
func hears(t *testing.T, listener, speaker *siptest.Call, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	listener.RTP.Drain()
	speaker.RTP.SendStream(ctx, make([]byte, 160), 150)
	if _, err := listener.RTP.Collect(ctx, 1, nil); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}
