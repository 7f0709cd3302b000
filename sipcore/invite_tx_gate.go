package sipcore

import (
	"hash/maphash"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// The read filter's side of parkd's INVITE transactions (invite_tx.go).

// matchInviteTx is the read filter's part for an INVITE, CANCEL or ACK
// datagram: true when it belongs to one of parkd's INVITE transactions
// and was dealt with there. Only a datagram whose branch names one is
// parsed.
func (ep *Endpoint) matchInviteTx(g *gated, method sip.RequestMethod) bool {
	t, req := ep.inviteTxOf(g, method)
	if t == nil {
		return false
	}
	switch method {
	case sip.INVITE:
		t.copied()
	case sip.CANCEL:
		// Counted as a stateless answer is: no handler counts it.
		t.canceled(req, func(res *sip.Response) { g.send(req, res) })
	case sip.ACK:
		// Not counted: sipgo's transactions never passed the ACK of an
		// error on to a handler (TestEndpointStats).
		return t.acked()
	}
	return true
}

// inviteTxOf finds the transaction a datagram belongs to by the branch
// its bytes show, and parses it to match it (inviteTx.matches).
func (ep *Endpoint) inviteTxOf(g *gated, method sip.RequestMethod) (*inviteTx, *sip.Request) {
	branch := g.viaBranch()
	if !isRFC3261Branch(branch) {
		return nil, nil
	}
	t := ep.inviteTxs.get(maphash.Bytes(rememberSeed, branch))
	if t == nil {
		return nil, nil
	}
	req := g.request()
	if !t.matches(req, method) {
		return nil, nil
	}
	return t, req
}

// matches reports whether req is a copy of t's INVITE, its CANCEL or
// the ACK of its final error: the method, and what answeredKeys hashes.
func (t *inviteTx) matches(req *sip.Request, method sip.RequestMethod) bool {
	if req == nil || req.Method != method {
		return false
	}
	_, full := answeredKeys(req)
	return full == t.full // else the same branch from another sender: sipgo's to judge
}

// ownInviteTx is the handlers' lookup, for a CANCEL or ACK over UDP that
// sipgo parsed because the read filter could not match its bytes: the
// byte scan reads a Via's first line only, and a Via folded over lines
// (RFC 3261 §7.3.1) hides its branch. sipgo has no transaction for it,
// and the CANCEL would get 481 while the call rang on.
func (ep *Endpoint) ownInviteTx(req *sip.Request) *inviteTx {
	if !strings.EqualFold(req.Transport(), "udp") {
		return nil
	}
	key, full := answeredKeys(req)
	if key == full {
		return nil // no RFC 3261 branch: never one of parkd's
	}
	t := ep.inviteTxs.get(key)
	if t == nil || t.full != full { // what matches would hash again
		return nil
	}
	return t
}

// cancelOwnInviteTx is the CANCEL handler's part: true when req
// canceled one of parkd's INVITE transactions and was answered there.
func (ep *Endpoint) cancelOwnInviteTx(req *sip.Request, tx sip.ServerTransaction) bool {
	t := ep.ownInviteTx(req)
	if t == nil {
		return false
	}
	// The 200 goes through sipgo's transaction for the CANCEL, which
	// ends when the handler returns: a copy runs the handler again, and
	// gets its 200 here or from cancelAnswered.
	t.canceled(req, func(res *sip.Response) { ep.reply(tx, req, res) })
	return true
}

// maxCancelExemptions bounds the CANCELs of one ringing INVITE that pass
// a source's rate limit: a caller's CANCEL and a copy or two, never a
// flood that each costs a parse.
const maxCancelExemptions = 4

// cancelsRinging reports whether a CANCEL datagram cancels one of parkd's
// INVITE transactions that has no final answer yet. The rate limit lets
// it through: a source past its rate (a PBX's trunk, say) whose caller
// hangs up before the answer would otherwise have its call answered and
// parked after the caller had gone. Copies of it find the transaction
// completed; at most maxCancelExemptions are let through for one.
func (ep *Endpoint) cancelsRinging(g *gated) bool {
	branch := g.viaBranch()
	if !isRFC3261Branch(branch) {
		return false
	}
	t := ep.inviteTxs.get(maphash.Bytes(rememberSeed, branch))
	if t == nil || !t.proceeding() || t.cancelExemptions.Load() >= maxCancelExemptions {
		return false
	}
	if t.cancelExemptions.Add(1) > maxCancelExemptions {
		return false
	}
	return t.matches(g.request(), sip.CANCEL)
}

// startInviteTx is the read filter's part for an INVITE datagram that
// passed the gate and no transaction claimed: started when it is a new
// call's INVITE that parkd's own transaction took, and its handler was
// run or started; endLoop when the handler ran on the read loop, which
// was taken over meanwhile and must end (inline_invite.go). The rest go
// on to sipgo: a re-INVITE (its call's handlers expect sipgo's
// ordering), one with an RFC 2543 branch (matched by more than the
// branch), and what does not parse.
func (ep *Endpoint) startInviteTx(g *gated) (started bool, endLoop error) {
	if !isRFC3261Branch(g.viaBranch()) {
		return false, nil
	}
	req := g.request()
	if req == nil || hasToTag(req) {
		return false, nil
	}
	conn, dst, ok := g.destination(req)
	if !ok {
		return false, nil
	}
	key, full := answeredKeys(req)
	if key != maphash.Bytes(rememberSeed, g.viaBranch()) {
		// sipgo read another branch than the bytes say (";rport; branch=",
		// "Branch="): copies and the CANCEL, looked up by the bytes,
		// would miss this transaction. sipgo keys them all alike.
		return false, nil
	}
	t := newInviteTx(ep, req, key, full, conn, dst)
	if !ep.inviteTxs.add(t) {
		return false, nil
	}
	t.trace("INVITE server transaction started", "source", dst.String())
	sc := ep.stampedAt(g.info.LocalAddr)
	if sc == nil {
		ep.handlers.Go(t.handle)
		return true, nil
	}
	switch sc.handleInline(t.handle) {
	case notInline:
		ep.handlers.Go(t.handle)
	case loopTakenOver:
		return true, sc.retire()
	}
	return true, nil
}

// handle runs the INVITE's handlers, those sipgo would have called, on
// the read loop (inline_invite.go) or the handler pool.
func (t *inviteTx) handle() {
	t.ep.inviteChain(t.req, t)
	t.handlerReturned()
}
