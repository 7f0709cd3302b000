package sipcore

import (
	"errors"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// MethodOther is the Method of requests (and their responses) whose method
// is none of those parkd counts by name; it keeps metric labels bounded.
const MethodOther = "other"

// statMethods are the methods counted by name, in the order Stats lists
// them. Index len(statMethods) is MethodOther.
var statMethods = [...]sip.RequestMethod{
	sip.INVITE, sip.ACK, sip.BYE, sip.CANCEL, sip.OPTIONS, sip.SUBSCRIBE, sip.NOTIFY,
	sip.REFER, sip.UPDATE, sip.INFO, sip.PRACK, sip.MESSAGE, sip.REGISTER, sip.PUBLISH,
}

const (
	methodOther = len(statMethods)
	numMethods  = methodOther + 1

	minStatCode = 100
	maxStatCode = 699
	// numCodes holds one counter per status code 100–699 plus slot 0 for
	// anything outside that range.
	numCodes = maxStatCode - minStatCode + 2
)

// methodIndex maps a method to its counter; SIP methods are case-sensitive
// (RFC 3261 §7.1), so "invite" is "other".
func methodIndex(m sip.RequestMethod) int {
	switch m {
	case sip.INVITE:
		return 0
	case sip.ACK:
		return 1
	case sip.BYE:
		return 2
	case sip.CANCEL:
		return 3
	case sip.OPTIONS:
		return 4
	case sip.SUBSCRIBE:
		return 5
	case sip.NOTIFY:
		return 6
	case sip.REFER:
		return 7
	case sip.UPDATE:
		return 8
	case sip.INFO:
		return 9
	case sip.PRACK:
		return 10
	case sip.MESSAGE:
		return 11
	case sip.REGISTER:
		return 12
	case sip.PUBLISH:
		return 13
	}
	return methodOther
}

func methodName(i int) string {
	if i < methodOther {
		return string(statMethods[i])
	}
	return MethodOther
}

// codeIndex maps a status code to its counter: 100–699 to 1–600, anything
// else to 0 (reported as code 0).
func codeIndex(code int) int {
	if code < minStatCode || code > maxStatCode {
		return 0
	}
	return code - minStatCode + 1
}

func indexCode(i int) int {
	if i == 0 {
		return 0
	}
	return i + minStatCode - 1
}

// sipStats are an Endpoint's counters: fixed arrays of atomics, so counting
// a request or a response neither allocates nor takes a lock.
type sipStats struct {
	requests       [numMethods]atomic.Uint64
	responses      [numMethods][numCodes]atomic.Uint64
	notifiesSent   atomic.Uint64
	notifiesFailed atomic.Uint64
	strays         atomic.Uint64 // responses dropped: no transaction, dialog or INVITE of ours
	rateLimited    atomic.Uint64 // requests answered 503 by the per-source rate limit
	rateDropped    atomic.Uint64 // requests dropped unanswered, far past the rate limit
	txCapRefused   atomic.Uint64 // requests answered 503 by the transaction cap
	overloadShed   atomic.Uint64 // new INVITEs answered 503: too many in progress
	lateShed       atomic.Uint64 // new INVITEs answered 503: waited too long to be handled
}

func (st *sipStats) request(m sip.RequestMethod) { st.requests[methodIndex(m)].Add(1) }

func (st *sipStats) response(m sip.RequestMethod, code int) {
	st.responses[methodIndex(m)][codeIndex(code)].Add(1)
}

// canceled counts a CANCEL that an INVITE transaction still pending
// answered itself: the CANCEL, its 200 and the INVITE's 487. Such a CANCEL
// never reaches a handler; countRequest hooks this onto every INVITE of
// sipgo's. parkd's own transactions count theirs where they are
// answered (invite_tx_gate.go).
func (st *sipStats) canceled(*sip.Request) {
	st.request(sip.CANCEL)
	st.response(sip.CANCEL, 200)
	st.response(sip.INVITE, 487)
}

// MethodCount is how many requests of one method parkd received.
type MethodCount struct {
	Method string // INVITE, ACK, …, or MethodOther
	Count  uint64
}

// ResponseCount is how many final responses with one code parkd sent to
// requests of one method.
type ResponseCount struct {
	Method string // the request's method, or MethodOther
	Code   int    // 100–699; 0 for a code outside that range
	Count  uint64
}

// EndpointStats is a snapshot of an Endpoint's counters. The counts only
// grow over the Endpoint's life; Subscriptions and Calls are gauges.
type EndpointStats struct {
	// Requests counts the requests that reached parkd's handlers, by method:
	// one per transaction (sipgo absorbs retransmissions), ACKs to 2xx
	// included, plus the CANCELs matched to a pending INVITE and the
	// requests answered without a transaction (OPTIONS pings, refusals;
	// a retransmission of one of those counts again). Only non-zero
	// entries, in a fixed method order.
	Requests []MethodCount
	// Responses counts the final responses (2xx–6xx) parkd sent, by the
	// request's method and status code, including the 200 and 487 sent
	// for a matched CANCEL. A response whose send failed is not
	// counted. Only non-zero entries, by method then code.
	Responses []ResponseCount
	// Subscriptions is the number of live subscription dialogs.
	Subscriptions int
	// NotifiesSent counts every NOTIFY parkd tried to send, final ones
	// included; NotifiesFailed those of them that got no answer within
	// the NOTIFY timeout, a non-2xx final answer, or a transport error.
	NotifiesSent, NotifiesFailed uint64
	// Calls is the number of answered calls still up.
	Calls int
	// StrayResponses counts responses dropped because they answer nothing
	// parkd sent (or came from elsewhere than it sent to).
	StrayResponses uint64
	// RateLimited counts requests answered 503 past a source's rate
	// (sip.rate_limit), RateDropped those dropped unanswered far past it,
	// TransactionCapRefused those answered 503 past sip.max_transactions.
	RateLimited, RateDropped, TransactionCapRefused uint64
	// OverloadShed counts new INVITEs answered 503 because
	// Settings.MaxPendingInvites were in progress; PendingInvites is how
	// many are in progress now.
	OverloadShed   uint64
	PendingInvites int64
	// LateShed counts new INVITEs answered 503 because they waited past
	// Settings.MaxInviteWait between their read and their handler.
	LateShed uint64
	// Transactions is the number of server transactions alive.
	Transactions int64
	// TCP counts the SIP TCP connections refused and closed (sip.tcp).
	TCP TCPStats
}

// Stats returns the endpoint's counters. It is cheap enough for every
// metrics scrape and safe to call concurrently with everything else.
func (ep *Endpoint) Stats() EndpointStats {
	st := &ep.stats
	out := EndpointStats{
		Subscriptions:  ep.Subscriptions(),
		NotifiesSent:   st.notifiesSent.Load(),
		NotifiesFailed: st.notifiesFailed.Load(),
		Calls:          ep.Calls(),
		StrayResponses: st.strays.Load(),

		RateLimited:           st.rateLimited.Load(),
		RateDropped:           st.rateDropped.Load(),
		TransactionCapRefused: st.txCapRefused.Load(),
		OverloadShed:          st.overloadShed.Load(),
		LateShed:              st.lateShed.Load(),
		PendingInvites:        ep.pendingInvites.Load(),
		Transactions:          ep.liveTx.Load(),
		TCP:                   ep.tcpGate.stats(),
	}
	for m := range st.requests {
		if n := st.requests[m].Load(); n > 0 {
			out.Requests = append(out.Requests, MethodCount{Method: methodName(m), Count: n})
		}
	}
	for m := range st.responses {
		for c := range st.responses[m] {
			if n := st.responses[m][c].Load(); n > 0 {
				out.Responses = append(out.Responses, ResponseCount{Method: methodName(m), Code: indexCode(c), Count: n})
			}
		}
	}
	return out
}

// countRequest wraps a sipgo handler so that every request reaching it is
// counted on entry, whatever the handler then does.
func (ep *Endpoint) countRequest(h func(*sip.Request, sip.ServerTransaction)) func(*sip.Request, sip.ServerTransaction) {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		ep.stats.request(req.Method)
		if req.Method == sip.INVITE && tx != nil && ownTx(tx) == nil {
			// A CANCEL matching this INVITE is answered inside sipgo and
			// never reaches a handler; this is the only place it shows.
			// Registered first, before the handler can have answered.
			// parkd's own transactions count theirs (invite_tx.go).
			tx.OnCancel(ep.onCanceled)
		}
		h(req, tx)
	}
}

// reply is the one place parkd sends a response to a request it received:
// everything else calls it (or respond), so every final response sent is
// counted by the request's method and status code.
func (ep *Endpoint) reply(tx sip.ServerTransaction, req *sip.Request, res *sip.Response) error {
	// sipgo copies the request's version, which a hostile peer may have
	// spelled "SIP'2.0" or with terminal escapes; parkd speaks SIP/2.0.
	res.SipVersion = "SIP/2.0"
	forget := ep.noteAnswering(req, res)
	err := tx.Respond(res)
	if err != nil && forget != nil {
		forget()
	}
	if err == nil && (res.StatusCode >= 200 || res.StatusCode < minStatCode) {
		ep.stats.response(req.Method, res.StatusCode)
		noteResponse(tx, res)
	}
	if errors.Is(err, sip.ErrTransactionCanceled) && res.StatusCode != sip.StatusRequestTerminated {
		ep.keep487(tx, req) // a CANCEL crossed res (cancel_race.go)
	}
	return err
}

// respond sends a final response built from req; a failure to send is
// only logged by sipgo.
func (ep *Endpoint) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, headers ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range headers {
		res.AppendHeader(h)
	}
	ep.reply(tx, req, res)
}
