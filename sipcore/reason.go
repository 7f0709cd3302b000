package sipcore

import (
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// Cause is the ITU-T Q.850 cause a BYE from parkd gives in its Reason
// header (RFC 3326), so a PBX's call records and a phone's display can tell
// a normal hang-up from a failure.
type Cause struct {
	Code int
	Text string
}

var (
	// CauseNormalClearing: someone ended the call on purpose (a party hung
	// up, the attendant, a recall that gave up, a transfer).
	CauseNormalClearing = Cause{16, "Normal call clearing"}
	// CauseTemporaryFailure: parkd is stopping; "the user may wish to try
	// another call attempt almost immediately" (Q.850) is what a restart means.
	CauseTemporaryFailure = Cause{41, "Temporary failure"}
	// CauseNonSelectedUser: a ring group member answered after another
	// took the call, or after parkd stopped ringing.
	CauseNonSelectedUser = Cause{26, "Non-selected user clearing"}
	// CauseTimerExpiry: a timer ended the call (no ACK for the 200, no RTP).
	CauseTimerExpiry = Cause{102, "Recovery on timer expiry"}
)

// reasonHeader is the Reason of a BYE: the Q.850 cause first, which PBXs
// map to their hang-up cause, then parkd's own words, which say which rule
// ended the call. RFC 3326 allows one value per protocol.
func reasonHeader(cause Cause, why string) sip.Header {
	v := fmt.Sprintf("Q.850;cause=%d;text=%q", cause.Code, cause.Text)
	if why != "" {
		v += fmt.Sprintf(", SIP;cause=200;text=%q", why)
	}
	return sip.NewHeader("Reason", v)
}
