package sipcore

import (
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Under overload parkd answers at once, either way (RFC 3261 §17.2.1,
// §21.5.4): a new INVITE it takes on while behind gets 100 Trying before
// any work, so the caller stops retransmitting, and once too many INVITEs
// are in progress (received, not yet answered) a new one gets 503 with
// Retry-After instead of joining the queue. INVITEs in progress is the
// measure of falling behind: each request gets a goroutine of its own
// (sipgo's, or the handler pool's for parkd's own INVITE transactions),
// so a daemon that cannot keep up does not queue requests in a
// channel but accumulates them half-handled, each waiting for a CPU or a
// lock. (A new call's INVITE handled on the read loop, inline_invite.go,
// waits in the socket instead, where its kernel stamp measures the wait.)
// By Little's law, the bound over the arrival rate is the wait a
// caller can see before that 503: 200 at 1,000 INVITEs/s is 200 ms.

// DefaultMaxPendingInvites is Settings.MaxPendingInvites when left 0.
const DefaultMaxPendingInvites = 200

// tryingAtOnceWait is how long an INVITE may wait, from the kernel
// receiving it to its handler starting, before parkd counts itself behind
// and sends 100 Trying at once. On time, parkd answers within a
// millisecond or two, and RFC 3261 §17.2.1 lets a UAS leave the 100 out
// when it answers within 200 ms; sending it always cost 3 % of a
// park+retrieve pair's CPU for a response no caller needed. An INVITE on
// time gets it from a timer instead (trying.go), should its answer take
// longer.
const tryingAtOnceWait = 10 * time.Millisecond

// overloadRetryAfter is the Retry-After of a 503 for falling behind, in
// seconds: a backlog of a few hundred INVITEs clears well within it.
const overloadRetryAfter = 2

func (s *Settings) maxPendingInvites() int64 {
	if s.MaxPendingInvites > 0 {
		return int64(s.MaxPendingInvites)
	}
	return DefaultMaxPendingInvites
}

// admitInvite counts a new INVITE in progress, or refuses it with 503
// when parkd is behind. The INVITE's answers must go through the
// transaction it returns; done must be called once it was answered.
func (ep *Endpoint) admitInvite(req *sip.Request, tx sip.ServerTransaction) (_ sip.ServerTransaction, done func(), ok bool) {
	behind := true // arrival not noted (TCP, or past the bound): as late
	var wait time.Duration
	if via := req.Via(); via != nil {
		branch, _ := via.Params.Get("branch")
		if at, ok := ep.arrivals.take(branch); ok {
			wait = time.Since(at)
			behind = wait >= tryingAtOnceWait
			if wait > ep.live().maxInviteWait() {
				ep.stats.lateShed.Add(1)
				ep.logShed(sourceAddr(req.Source()), "INVITE waited "+wait.Round(time.Millisecond).String()+" to be handled, past the bound")
				ep.respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", strconv.Itoa(overloadRetryAfter)),
					sip.NewHeader("Warning", `399 parkd "overloaded: call setup is falling behind"`))
				return nil, nil, false
			}
		}
	}
	if n := ep.pendingInvites.Add(1); n > ep.live().maxPendingInvites() {
		ep.pendingInvites.Add(-1)
		ep.stats.overloadShed.Add(1)
		ep.logShed(sourceAddr(req.Source()), "INVITEs in progress past sip.max_pending_invites")
		ep.respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", strconv.Itoa(overloadRetryAfter)),
			sip.NewHeader("Warning", `399 parkd "overloaded: too many calls being set up"`))
		return nil, nil, false
	}
	if behind {
		ep.reply(tx, req, sip.NewResponseFromRequest(req, 100, "Trying", nil))
		return tx, ep.inviteDone, true
	}
	t := ep.armTrying(req, tx, ep.tryingAfter()-wait)
	return t, func() { t.stop(); ep.inviteDone() }, true
}

func (ep *Endpoint) inviteDone() { ep.pendingInvites.Add(-1) }

// PendingInvites is the number of new INVITEs received and not yet answered.
func (ep *Endpoint) PendingInvites() int { return int(ep.pendingInvites.Load()) }
