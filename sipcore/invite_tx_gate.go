package sipcore

import (
	"hash/maphash"

	"github.com/emiago/sipgo/sip"
)

// The read filter's side of parkd's INVITE transactions (invite_tx.go).

// matchInviteTx is the read filter's part for an INVITE, CANCEL or ACK
// datagram: true when it belongs to one of parkd's INVITE transactions
// and was dealt with there. Only a datagram whose branch names one is
// parsed.
func (ep *Endpoint) matchInviteTx(g *gated, method sip.RequestMethod) bool {
	branch := g.viaBranch()
	if !isRFC3261Branch(branch) {
		return false
	}
	t := ep.inviteTxs.get(maphash.Bytes(rememberSeed, branch))
	if t == nil {
		return false
	}
	req := g.request()
	if req == nil || req.Method != method {
		return false
	}
	if _, full := answeredKeys(req); full != t.full {
		return false // the same branch in another transaction: sipgo's to judge
	}
	switch method {
	case sip.INVITE:
		t.copied()
	case sip.CANCEL:
		t.canceled(req, func(res *sip.Response) bool { return g.write(req, res) })
	case sip.ACK:
		return t.acked()
	}
	return true
}

// startInviteTx is the read filter's part for an INVITE datagram that
// passed the gate and no transaction claimed: true when it is a new
// call's INVITE that parkd's own transaction took, and its handler was
// started. The rest go on to sipgo: a re-INVITE (its call's handlers
// expect sipgo's ordering), one with an RFC 2543 branch (matched by more
// than the branch), and what does not parse.
func (ep *Endpoint) startInviteTx(g *gated) bool {
	if !isRFC3261Branch(g.viaBranch()) {
		return false
	}
	req := g.request()
	if req == nil || hasToTag(req) {
		return false
	}
	conn, dst, ok := g.destination(req)
	if !ok {
		return false
	}
	key, full := answeredKeys(req)
	if key != maphash.Bytes(rememberSeed, g.viaBranch()) {
		// sipgo read another branch than the bytes say (";rport; branch=",
		// "Branch="): copies and the CANCEL, looked up by the bytes,
		// would miss this transaction. sipgo keys them all alike.
		return false
	}
	t := newInviteTx(ep, req, key, full, conn, dst)
	if !ep.inviteTxs.add(t) {
		return false
	}
	t.trace("INVITE server transaction started", "source", dst.String())
	ep.handlers.Go(t.handle)
	return true
}

// handle runs the INVITE's handlers, those sipgo would have called, on
// the handler pool.
func (t *inviteTx) handle() {
	t.ep.inviteChain(t.req, t)
	t.handlerReturned()
}
