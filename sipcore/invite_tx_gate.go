package sipcore

import (
	"hash/maphash"

	"github.com/emiago/sipgo/sip"
)

// The read filter's side of parkd's INVITE transactions (invite_tx.go).

// matchInviteTx is the read filter's part for an INVITE, CANCEL or ACK
// datagram: true when it belongs to one of parkd's INVITE transactions
// and was dealt with there. It matches as RFC 3261 §17.2.3 and sipgo do:
// the top Via's branch and sent-by, and the method (an ACK or a CANCEL
// matching an INVITE). Only a datagram whose branch names one is parsed.
func (ep *Endpoint) matchInviteTx(g *gated, method sip.RequestMethod) bool {
	t, req := ep.inviteTxOf(g, method)
	if t == nil {
		return false
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

// cancelsRinging reports whether a CANCEL datagram cancels one of parkd's
// INVITE transactions that has no final answer yet. The rate limit lets
// it through: a source past its rate (a PBX's trunk, say) whose caller
// hangs up before the answer would otherwise have its call answered and
// parked after the caller had gone. Only its first CANCEL passes; copies
// find the transaction completed.
func (ep *Endpoint) cancelsRinging(g *gated) bool {
	t, _ := ep.inviteTxOf(g, sip.CANCEL)
	return t != nil && t.proceeding()
}

// inviteTxOf finds the transaction a datagram belongs to, and parses it.
func (ep *Endpoint) inviteTxOf(g *gated, method sip.RequestMethod) (*inviteTx, *sip.Request) {
	var t *inviteTx
	var req *sip.Request
	if branch := g.viaBranch(); isRFC3261Branch(branch) {
		if t = ep.inviteTxs.get(maphash.Bytes(rememberSeed, branch)); t == nil {
			return nil, nil
		}
		req = g.request()
	} else {
		// The byte scan reads a Via's first line only. A CANCEL or ACK
		// whose Via is folded over lines (RFC 3261 §7.3.1), of an INVITE
		// whose was not, would go to sipgo, which has no transaction for
		// it: the CANCEL would get 481 and the call ring on. Rare enough
		// to parse; an INVITE's copy is the INVITE's bytes again.
		if method == sip.INVITE || ep.inviteTxs.len() == 0 {
			return nil, nil
		}
		if req = g.request(); req == nil {
			return nil, nil
		}
		key, full := answeredKeys(req)
		if key == full {
			return nil, nil // no RFC 3261 branch: never one of parkd's
		}
		if t = ep.inviteTxs.get(key); t == nil {
			return nil, nil
		}
	}
	if req == nil || req.Method != method || viaSentBy(req) != t.sentBy {
		return nil, nil // the same branch from another sender: sipgo's to judge
	}
	return t, req
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
	key, _ := answeredKeys(req)
	if key != maphash.Bytes(rememberSeed, g.viaBranch()) {
		// sipgo read another branch than the bytes say (";rport; branch=",
		// "Branch="): copies and the CANCEL, looked up by the bytes,
		// would miss this transaction. sipgo keys them all alike.
		return false
	}
	t := newInviteTx(ep, req, key, conn, dst)
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
