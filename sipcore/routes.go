package sipcore

import (
	"runtime/debug"

	"github.com/emiago/sipgo/sip"
)

// allowHeader lists what parkd answers; sent on OPTIONS and 405s.
const allowHeader = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, SUBSCRIBE"

func (ep *Endpoint) routes() {
	guard := func(h func(*sip.Request, sip.ServerTransaction)) func(*sip.Request, sip.ServerTransaction) {
		return func(req *sip.Request, tx sip.ServerTransaction) {
			defer ep.survive(req, tx)
			if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
				respond(tx, req, 400, "Bad Request", sip.NewHeader("Warning", `399 parkd "From, To, Call-ID and CSeq are required"`))
				return
			}
			if !ep.allowed(req) {
				ep.log.Warn("request from a source outside sip.allow", "method", req.Method, "source", req.Source(), "call_id", callID(req))
				respond(tx, req, 403, "Forbidden", sip.NewHeader("Warning", `399 parkd "source not in sip.allow"`))
				return
			}
			h(req, tx)
		}
	}
	ep.server.OnInvite(guard(ep.onInvite))
	ep.server.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		defer ep.survive(req, nil)
		if req.From() != nil && req.To() != nil && req.CallID() != nil && req.CSeq() != nil && ep.allowed(req) {
			ep.onAck(req, tx)
		}
	})
	ep.server.OnBye(guard(ep.inDialog))
	ep.server.OnUpdate(guard(ep.inDialog))
	ep.server.OnInfo(guard(ep.inDialog))
	ep.server.OnCancel(guard(func(req *sip.Request, tx sip.ServerTransaction) {
		// A CANCEL that matched an INVITE transaction never reaches here.
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
	}))
	ep.server.OnOptions(guard(ep.onOptions))
	ep.server.OnSubscribe(guard(ep.onSubscribe))
	ep.server.OnNoRoute(guard(func(req *sip.Request, tx sip.ServerTransaction) {
		if hasToTag(req) && req.Method == sip.OPTIONS {
			ep.inDialog(req, tx)
			return
		}
		respond(tx, req, 405, "Method Not Allowed", sip.NewHeader("Allow", allowHeader))
	}))
	for _, m := range []sip.RequestMethod{sip.REFER, sip.NOTIFY, sip.MESSAGE, sip.PUBLISH, sip.REGISTER, sip.PRACK} {
		ep.server.OnRequest(m, guard(func(req *sip.Request, tx sip.ServerTransaction) {
			respond(tx, req, 405, "Method Not Allowed", sip.NewHeader("Allow", allowHeader))
		}))
	}
}

func (ep *Endpoint) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	if hasToTag(req) {
		ep.inDialog(req, tx)
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", allowHeader))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Allow-Events", allowEvents))
	tx.Respond(res)
}

func (ep *Endpoint) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if hasToTag(req) {
		ep.inDialog(req, tx)
		return
	}
	ep.newInvite(req, tx)
}

// inDialog routes a request carrying a To-tag to its call, or 481.
func (ep *Endpoint) inDialog(req *sip.Request, tx sip.ServerTransaction) {
	c := ep.dialogs.byRequest(req)
	if c == nil {
		respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	c.handleRequest(req, tx)
}

func (ep *Endpoint) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if c := ep.dialogs.byRequest(req); c != nil {
		c.handleAck(req)
	}
}

// survive keeps one bad request from taking the daemon down: a panic in its
// handler is logged with the stack and answered 500.
func (ep *Endpoint) survive(req *sip.Request, tx sip.ServerTransaction) {
	if r := recover(); r != nil {
		ep.log.Error("panic while handling a request", "method", req.Method, "call_id", callID(req),
			"panic", r, "stack", string(debug.Stack()))
		if tx != nil {
			respond(tx, req, 500, "Server Internal Error")
		}
	}
}

func hasToTag(req *sip.Request) bool {
	to := req.To()
	return to != nil && to.Params.Has("tag")
}

// respond sends a final response; a failure to send is only logged by sipgo.
func respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, headers ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range headers {
		res.AppendHeader(h)
	}
	tx.Respond(res)
}
