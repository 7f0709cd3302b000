package sipcore_test

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parkd/parkd/sipcore"
)

// sipgoAtStart is sipgo's settings as this test binary's packages finish
// initialising, before any test has made an endpoint or a phone: Go
// initialises sipcore, which this package imports, first.
var sipgoAtStart = struct {
	trying, accepted time.Duration
	mtu              int
}{sip.Timer_1xx, sip.Timer_L, sip.UDPMTUSize}

// sipgo's package variables must hold parkd's values before any goroutine
// can read them: written by the first NewEndpoint instead, the write raced
// with every sipgo transaction already running, such as that of a test
// phone made before the daemon.
func TestSipgoSettingsPrecedeEveryEndpoint(t *testing.T) {
	if sipgoAtStart.trying < time.Hour {
		t.Errorf("sip.Timer_1xx was %v at start; parkd sends its own 100 Trying after %v", sipgoAtStart.trying, sipcore.DefaultTryingAfter)
	}
	if sipgoAtStart.accepted != 0 {
		t.Errorf("sip.Timer_L was %v at start, want 0: parkd keeps the Accepted state itself", sipgoAtStart.accepted)
	}
	if sipgoAtStart.mtu < 65000 {
		t.Errorf("sip.UDPMTUSize was %d at start: sipgo would refuse a large NOTIFY over UDP", sipgoAtStart.mtu)
	}
}
