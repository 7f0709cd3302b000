package sipcore

import (
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// An INVITE parkd takes on while on time gets 100 Trying only if its
// answer takes longer than DefaultTryingAfter (RFC 3261 §17.2.1), from a
// timer of parkd's own that every response stops. sipgo arms such a timer
// too, and it cannot be trusted with it: fired as a final response goes
// out, its 100 replaces the final as what the transaction retransmits
// (a 486 resent as 100, a 200's Accepted state left early), and a
// retransmitted INVITE stops it for good, so a slow answer's caller never
// gets a 100 and cannot CANCEL (§9.1). parkd turns sipgo's timer off
// (sipgo_globals.go) and sends the 100 under a lock every response takes.

// DefaultTryingAfter is how long after its arrival an INVITE on time may
// go unanswered before parkd sends 100 Trying.
const DefaultTryingAfter = 200 * time.Millisecond

// tryingAfter is DefaultTryingAfter, or a test's shorter delay.
func (ep *Endpoint) tryingAfter() time.Duration {
	if d := ep.tryingDelay.Load(); d > 0 {
		return time.Duration(d)
	}
	return DefaultTryingAfter
}

// tryingTx is an INVITE's server transaction with parkd's 100 Trying
// timer. Every response goes through Respond, which stops the timer, or
// waits for the 100 being sent so that the 100 goes first.
type tryingTx struct {
	sip.ServerTransaction
	ep  *Endpoint
	req *sip.Request

	mu        sync.Mutex
	responded bool // a response went out, or is going: no 100 any more
	timer     *time.Timer
}

// armTrying returns tx with a 100 Trying due after delay.
func (ep *Endpoint) armTrying(req *sip.Request, tx sip.ServerTransaction, delay time.Duration) *tryingTx {
	t := &tryingTx{ServerTransaction: tx, ep: ep, req: req}
	t.mu.Lock()
	t.timer = time.AfterFunc(max(delay, 0), t.sendTrying)
	t.mu.Unlock()
	return t
}

func (t *tryingTx) Respond(res *sip.Response) error {
	t.stop()
	return t.ServerTransaction.Respond(res)
}

// stop ends the timer: a response is going out, or the INVITE's handler
// has returned.
func (t *tryingTx) stop() {
	t.mu.Lock()
	t.responded = true
	t.timer.Stop()
	t.mu.Unlock()
}

// sendTrying is the timer's: the 100, unless a response went out first.
// A CANCEL is the transaction's to answer (487, outside Respond): sipgo's
// or parkd's own (invite_tx.go). When one slipped in between the check and
// the send, sipgo's takes the 100 as what it resends and reply puts the 487
// back (keep487); parkd's sends nothing after the 487.
func (t *tryingTx) sendTrying() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.responded || t.ServerTransaction.Err() != nil {
		return
	}
	t.responded = true
	beforeTryingSent(t)
	t.ep.reply(t.ServerTransaction, t.req, sip.NewResponseFromRequest(t.req, 100, "Trying", nil))
}

// beforeTryingSent lets a test deliver a CANCEL between sendTrying's check
// and its send; it does nothing otherwise.
var beforeTryingSent = func(*tryingTx) {}
