package sipcore

import (
	"runtime/debug"

	"github.com/emiago/sipgo/sip"
)

// allowMethods lists what parkd answers, REFER aside (see allowHeader);
// sent on OPTIONS and 405s.
const allowMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, SUBSCRIBE"

func (ep *Endpoint) routes() {
	guard := func(h func(*sip.Request, sip.ServerTransaction)) func(*sip.Request, sip.ServerTransaction) {
		return func(req *sip.Request, tx sip.ServerTransaction) {
			defer ep.survive(req, tx)
			// The allow check comes first: a stranger learns nothing, not
			// even which headers parkd requires.
			if !ep.allowed(req) {
				ep.logRefused(req, "request from a source outside sip.allow")
				ep.respond(tx, req, 403, "Forbidden", sip.NewHeader("Warning", `399 parkd "source not in sip.allow"`))
				return
			}
			if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
				ep.respond(tx, req, 400, "Bad Request", sip.NewHeader("Warning", `399 parkd "From, To, Call-ID and CSeq are required"`))
				return
			}
			release, ok := ep.admit(req, tx)
			if !ok {
				return
			}
			defer release()
			h(req, tx)
		}
	}
	// Every handler is registered through on (and OnNoRoute below), which
	// counts each request as it reaches parkd; the methods parkd serves
	// run on the handler pool (handler_pool.go).
	on := func(m sip.RequestMethod, h func(*sip.Request, sip.ServerTransaction)) {
		ep.server.OnRequest(m, ep.handlers.wrap(m, ep.countRequest(ep.gatedHandler(h))))
	}
	// The INVITEs parkd's own transactions take (invite_tx.go) start here,
	// on the read loop or the pool already (inline_invite.go), as new
	// calls go first.
	ep.inviteChain = ep.countRequest(ep.gatedHandler(guard(ep.onInvite)))
	ep.server.OnRequest(sip.INVITE, ep.handlers.wrap(sip.INVITE, ep.inviteChain))
	on(sip.ACK, func(req *sip.Request, tx sip.ServerTransaction) {
		defer ep.survive(req, nil)
		if req.From() != nil && req.To() != nil && req.CallID() != nil && req.CSeq() != nil && ep.allowed(req) {
			ep.onAck(req, tx)
		}
	})
	on(sip.BYE, guard(ep.inDialog))
	on(sip.UPDATE, guard(ep.inDialog))
	on(sip.INFO, guard(ep.inDialog))
	on(sip.CANCEL, guard(func(req *sip.Request, tx sip.ServerTransaction) {
		// A CANCEL that matched an INVITE transaction never reaches here
		// (countRequest counts it through the INVITE's OnCancel), nor
		// one the read filter matched to one of parkd's (invite_tx.go),
		// unless its bytes hid its branch.
		if ep.cancelOwnInviteTx(req, tx) || ep.cancelAnswered(req, tx) {
			return
		}
		ep.respond(tx, req, 481, "Call/Transaction Does Not Exist")
	}))
	on(sip.OPTIONS, guard(ep.onOptions))
	on(sip.SUBSCRIBE, guard(ep.onSubscribe))
	on(sip.REFER, guard(ep.onReferRequest))
	ep.server.OnNoRoute(ep.countRequest(ep.gatedHandler(guard(func(req *sip.Request, tx sip.ServerTransaction) {
		if hasToTag(req) && req.Method == sip.OPTIONS {
			ep.inDialog(req, tx)
			return
		}
		ep.respond(tx, req, 405, "Method Not Allowed", sip.NewHeader("Allow", ep.allowHeader()))
	}))))
	for _, m := range []sip.RequestMethod{sip.NOTIFY, sip.MESSAGE, sip.PUBLISH, sip.REGISTER, sip.PRACK} {
		on(m, guard(func(req *sip.Request, tx sip.ServerTransaction) {
			ep.respond(tx, req, 405, "Method Not Allowed", sip.NewHeader("Allow", ep.allowHeader()))
		}))
	}
}

func (ep *Endpoint) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	if hasToTag(req) {
		ep.inDialog(req, tx)
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", ep.allowHeader()))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Allow-Events", allowEvents))
	ep.reply(tx, req, res)
}

func (ep *Endpoint) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if ep.absorbAnswered(req, tx) {
		return
	}
	if hasToTag(req) {
		t := ep.armTrying(req, tx, ep.tryingAfter()) // a re-INVITE (trying.go)
		defer t.stop()
		ep.inDialog(req, t)
		return
	}
	tx, done, ok := ep.admitInvite(req, tx)
	if !ok {
		return
	}
	defer done()
	ep.newInvite(req, tx)
}

// inDialog routes a request carrying a To-tag to its call, or 481.
func (ep *Endpoint) inDialog(req *sip.Request, tx sip.ServerTransaction) {
	c := ep.dialogs.byRequest(req)
	if c == nil {
		if req.Method == sip.BYE && ep.answerEndedBye(req, tx) {
			return
		}
		ep.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	c.handleRequest(req, tx)
}

func (ep *Endpoint) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if c := ep.dialogs.byRequest(req); c != nil {
		c.handleAck(req)
		return
	}
	if t := ep.ownInviteTx(req); t != nil {
		t.acked() // of a final error, its Via folded (invite_tx_gate.go)
	}
}

// survive keeps one bad request from taking the daemon down: a panic in its
// handler is logged with the stack and answered 500.
func (ep *Endpoint) survive(req *sip.Request, tx sip.ServerTransaction) {
	if r := recover(); r != nil {
		ep.log.Error("panic while handling a request", "method", req.Method, "call_id", callID(req),
			"panic", r, "stack", string(debug.Stack()))
		if tx != nil {
			ep.respond(tx, req, 500, "Server Internal Error")
		}
	}
}

func hasToTag(req *sip.Request) bool {
	to := req.To()
	return to != nil && to.Params.Has("tag")
}
