package sipcore

import (
	"time"

	"github.com/emiago/sipgo/sip"
)

// sipgo keeps some of its settings in package variables that every
// transaction and transport reads without a lock. parkd sets them here,
// at package initialisation, before any goroutine can read them: set
// later (by the first NewEndpoint, as they once were), the write raced
// with any sipgo transaction already running in the process, such as a
// test phone's (the race detector caught it in CI). Every sipgo user in
// a process that imports sipcore, test phones included, gets them.
func init() {
	// parkd sends its own 100 Trying (trying.go): sipgo's timer is put
	// out of reach.
	sip.Timer_1xx = 24 * time.Hour
	// parkd keeps the Accepted state itself (accepted.go): a 2xx ends
	// sipgo's transaction as it leaves. (sip.SetTimers would set it
	// back to 64*T1: nothing in parkd calls it.)
	sip.Timer_L = 0
	// sipgo refuses UDP writes within 200 bytes of this "MTU"; parkd
	// sends NOTIFYs up to maxUDPMessage over UDP (publish.go).
	sip.UDPMTUSize = maxUDPMessage + 200
}
