package sipcore

import (
	"runtime/debug"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A BYE over UDP that ends one of parkd's calls is answered on the read
// loop. Every call ends with one, and through sipgo each cost a goroutine,
// a server transaction (with a context, a timer and a state machine, kept
// only to be ended as its 200 left: ended.go), a turn on a handler
// goroutine after yielding to new calls, and sipgo's goroutine woken
// again, for a 200 that needs none of them. Here the BYE's dialog is read
// from its bytes (raw_dialog.go) and, once it names one of parkd's calls,
// the BYE is parsed once (the gate's parse); the call is marked ended and
// its 200 sent at once, and the rest of the call's end (its media closed,
// the handler's CallEnded) runs on the handler pool after the new calls
// waiting, as before. A copy of the BYE finds the dialog among those BYEs
// ended and gets the 200 again (answerEndedBye).
//
// Anything else goes on to sipgo's path as before, which answers it as
// it did: a BYE for no call of parkd's (481, or 200 for one a BYE
// ended), one of a call already ending (481), one out of CSeq order
// (500), one that does not conform (505, 400), and one of a call busy
// answering something else: the read loop never waits for a call's lock.

// takeBye is the read filter's part for a BYE datagram over UDP, once it
// is admitted: true when it ended one of parkd's calls and was answered.
func (ep *Endpoint) takeBye(g *gated) bool {
	raw, ok := parseRawRequest(g.data, sip.BYE)
	if !ok {
		return false
	}
	c := ep.dialogs.get(raw.dialog)
	if c == nil {
		return false // not parsed here: sipgo will, for its 481 or 200
	}
	req := g.request()
	if req == nil || !conforms(req) {
		return false
	}
	if id, ok := requestDialogID(req); !ok || id != raw.dialog || req.CSeq().SeqNo != raw.cseq {
		return false // FuzzRawRequest says this never happens
	}
	if !c.mu.TryLock() {
		return false
	}
	if c.ended || raw.cseq <= c.remoteCSeq {
		c.mu.Unlock()
		return false
	}
	// Remembered before the call shows ended: a copy of the BYE, on
	// sipgo's path or the read loop's, that finds it ended gets the 200.
	ep.ended.add(dialogHash(raw.dialog), struct{}{}, time.Now())
	c.remoteCSeq = raw.cseq
	c.markEndedLocked()
	c.mu.Unlock()
	ep.dialogs.remove(c)
	g.send(req, sip.NewResponseFromRequest(req, 200, "OK", nil))
	ep.handlers.Go(func() {
		defer ep.surviveEnding(c)
		YieldToNewCalls()
		// Which party that is (caller, retriever…) only the handler
		// knows: it says so in CallEnded.
		c.Logger().Debug("BYE received: the remote party hung up")
		c.media.Close()
		c.finish(EndRemoteBye)
	})
	return true
}

// surviveEnding is survive for a call's end run off a request's handler:
// a panic in it is logged with the stack instead of taking parkd down.
func (ep *Endpoint) surviveEnding(c *Call) {
	if r := recover(); r != nil {
		c.Logger().Error("panic while ending a call", "panic", r, "stack", string(debug.Stack()))
	}
}
