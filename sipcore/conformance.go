package sipcore

import (
	"container/list"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// admit refuses the requests RFC 3261 §8.2 says a UAS must not act on,
// once the source is known to be allowed: another SIP version (505), a CSeq
// naming another method (400), and a copy of a request already being served
// that reached parkd by another path (482, §8.2.2.2), which would otherwise
// park one caller twice. When it admits the request, release must be called
// once the handler has returned.
func (ep *Endpoint) admit(req *sip.Request, tx sip.ServerTransaction) (release func(), ok bool) {
	if !supportedVersion(req) {
		ep.logRefused(req, "request refused: SIP version not supported", "version", req.SipVersion)
		res := sip.NewResponseFromRequest(req, 505, "Version Not Supported", nil)
		res.SipVersion = "SIP/2.0" // sipgo copies the request's
		res.AppendHeader(sip.NewHeader("Warning", `399 parkd "only SIP/2.0 is supported"`))
		ep.reply(tx, req, res)
		return nil, false
	}
	// Case-insensitive to read, upper case to send (RFC 3261 §7.1): reply
	// spells every response SIP/2.0, and over UDP the read filter already
	// wrote it so in the datagram (sip20). Never here: sipgo's goroutines
	// read the request too (its 487 for a CANCEL copies the version).
	if !cseqMatches(req) {
		m := strings.TrimSpace(string(req.CSeq().MethodName))
		ep.logRefused(req, "request refused: CSeq method differs from the request method", "cseq_method", m)
		ep.respond(tx, req, 400, "Bad Request", sip.NewHeader("Warning", `399 parkd "CSeq method differs from the request method"`))
		return nil, false
	}
	if hasToTag(req) || req.Method == sip.ACK || req.Method == sip.CANCEL {
		return func() {}, true // in a dialog, or matched to a transaction by sipgo
	}
	release, merged := ep.inProgress.begin(req)
	if merged {
		ep.logRefused(req, "request refused: a copy of a request in progress (merged)")
		ep.respond(tx, req, 482, "Loop Detected", sip.NewHeader("Warning", `399 parkd "merged request"`))
		return nil, false
	}
	return release, true
}

// conforms reports whether admit would let req past its version and CSeq
// checks, for the paths that answer before admit runs (stateless OPTIONS).
func conforms(req *sip.Request) bool { return supportedVersion(req) && cseqMatches(req) }

func supportedVersion(req *sip.Request) bool { return strings.EqualFold(req.SipVersion, "SIP/2.0") }

func cseqMatches(req *sip.Request) bool {
	c := req.CSeq()
	return c != nil && strings.TrimSpace(string(c.MethodName)) == string(req.Method)
}

// logRefused logs a request parkd refused, at most once per source a
// minute; the next line carries how many were held back.
func (ep *Endpoint) logRefused(req *sip.Request, msg string, args ...any) {
	key := req.Source()
	if ap, err := netip.ParseAddrPort(key); err == nil {
		key = ap.Addr().Unmap().String()
	}
	ok, suppressed := ep.quiet.allow(key)
	if !ok {
		return
	}
	attrs := make([]any, 0, 8+len(args))
	attrs = append(attrs, "method", clip(string(req.Method)), "source", clip(req.Source()), "call_id", clip(callID(req)))
	for i, a := range args {
		if s, isString := a.(string); isString && i%2 == 1 {
			a = clip(s)
		}
		attrs = append(attrs, a)
	}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	ep.log.Warn(msg, attrs...)
}

// maxInProgress bounds the requests remembered for merge detection; past
// it the oldest is forgotten, so a flood costs a fixed amount of memory and
// at worst lets a merged copy through as a new request.
const maxInProgress = 16384

// requestsInProgress remembers the requests outside a dialog that parkd is
// serving, by Call-ID, From tag and CSeq, with the top Via that names their
// transaction (RFC 3261 §17.2.3). An entry lives while its handler runs and
// then as long as the server transaction may (64*T1), as a retransmission
// would be absorbed by it.
type requestsInProgress struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	byKey map[string]*list.Element
	order list.List // of *inProgress, oldest first
}

type inProgress struct {
	key     string
	via     string
	running int       // handlers serving it now (a retransmission after the tx ended may add one)
	expires time.Time // once running is 0
}

func (r *requestsInProgress) init() {
	r.max, r.now, r.byKey = maxInProgress, time.Now, map[string]*list.Element{}
}

// begin records req; merged is true when another transaction with the
// same Call-ID, From tag and CSeq is in progress. Otherwise release ends
// the handler's hold on the entry.
func (r *requestsInProgress) begin(req *sip.Request) (release func(), merged bool) {
	fromTag, _ := req.From().Params.Get("tag")
	cseq := req.CSeq()
	key := callID(req) + "\x00" + fromTag + "\x00" + strconv.FormatUint(uint64(cseq.SeqNo), 10) + " " + string(cseq.MethodName)
	via := transactionVia(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.expireLocked(now)
	el, ok := r.byKey[key]
	if ok {
		e := el.Value.(*inProgress)
		if e.via != via && (e.running > 0 || now.Before(e.expires)) {
			return nil, true
		}
		e.via = via // the same transaction again, or a new one after the old ended
		r.order.MoveToBack(el)
	} else {
		if r.order.Len() >= r.max {
			r.removeLocked(r.order.Front())
		}
		el = r.order.PushBack(&inProgress{key: key, via: via})
		r.byKey[key] = el
	}
	e := el.Value.(*inProgress)
	e.running++
	var once sync.Once
	return func() { once.Do(func() { r.release(el, e) }) }, false
}

func (r *requestsInProgress) release(el *list.Element, e *inProgress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.running--
	if e.running == 0 {
		e.expires = r.now().Add(sip.Timer_J)
	}
}

// expireLocked forgets the oldest entries whose transaction is over.
// Entries are in order of arrival, not of expiry, so one long INVITE keeps
// later ones a little longer; the cap bounds that. Callers hold r.mu.
func (r *requestsInProgress) expireLocked(now time.Time) {
	for el := r.order.Front(); el != nil; el = r.order.Front() {
		e := el.Value.(*inProgress)
		if e.running > 0 || now.Before(e.expires) {
			return
		}
		r.removeLocked(el)
	}
}

func (r *requestsInProgress) removeLocked(el *list.Element) {
	e := el.Value.(*inProgress)
	if r.byKey[e.key] == el {
		delete(r.byKey, e.key)
	}
	r.order.Remove(el)
}

func (r *requestsInProgress) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.order.Len()
}

// transactionVia is what names a request's transaction besides its method
// (RFC 3261 §17.2.3): the top Via's branch and sent-by.
func transactionVia(req *sip.Request) string {
	via := req.Via()
	if via == nil {
		return ""
	}
	branch, _ := via.Params.Get("branch")
	return branch + "\x00" + via.Host + ":" + strconv.Itoa(via.Port)
}
