package sipcore

import (
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// Under overload parkd answers new INVITEs at once instead of late. An
// INVITE is pending from its arrival at the endpoint until its final
// answer is decided. Past tryingAt pending INVITEs a new one gets 100
// Trying at once, so its caller stops retransmitting it (RFC 3261 §17.2.1:
// sipgo would send it after 200 ms), which would only add to the backlog;
// past maxPending it is refused with 503 and Retry-After (RFC 3261
// §21.5.4) before any work is spent on it: a caller answered seconds
// later has often given up, and its 200 then waits for an ACK that never
// comes.
const (
	defaultTryingAt   = 16
	defaultMaxPending = 400
	overloadRetry     = "5" // seconds, in Retry-After
)

// invitesInFlight counts pending INVITEs.
type invitesInFlight struct {
	pending    atomic.Int64
	tryingAt   atomic.Int64 // constants but for tests, which set them while serving
	maxPending atomic.Int64
}

func (f *invitesInFlight) init() {
	f.tryingAt.Store(defaultTryingAt)
	f.maxPending.Store(defaultMaxPending)
}

// admitInvite counts a new INVITE in, or refuses it. The returned release
// counts it out once, however often it is called.
func (ep *Endpoint) admitInvite(req *sip.Request, tx sip.ServerTransaction) (release func(), ok bool) {
	f := &ep.invites
	n := f.pending.Add(1)
	var done atomic.Bool
	release = func() {
		if done.CompareAndSwap(false, true) {
			f.pending.Add(-1)
		}
	}
	if n > f.maxPending.Load() {
		release()
		ep.logRefused(req, "INVITE refused: parkd is overloaded", "pending_invites", n-1)
		ep.respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", overloadRetry),
			sip.NewHeader("Warning", `399 parkd "overloaded"`))
		return nil, false
	}
	if n > f.tryingAt.Load() {
		ep.reply(tx, req, sip.NewResponseFromRequest(req, 100, "Trying", nil))
	}
	return release, true
}
