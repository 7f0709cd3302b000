package sipcore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// ReferHandler is implemented by a Handler that follows transfers. Without
// it, a REFER in a call is declined (603); a REFER outside an established
// call gets 481 (or 603 with no dialog at all) either way.
type ReferHandler interface {
	// HandleRefer runs in a goroutine of its own, with no sipcore lock
	// held, and may block (while parkd places the transfer's call, say).
	// It must answer with r.Accept or r.Reject at once: after
	// referAnswerTimeout, or when HandleRefer returns first, sipcore
	// answers 500 itself. An accepted REFER must be ended with r.Finish;
	// until then every other REFER in the call gets 491. ctx is not tied
	// to the referrer's call: a transfer goes on after the referrer hangs up.
	HandleRefer(ctx context.Context, r *Refer)
}

// Refer is a REFER received in an answered call's dialog (RFC 3515): the
// remote party asks parkd to transfer the *other* leg it talks to. parkd
// must call Accept or Reject exactly once.
//
// Target comes from the network: placing a call there resolves its host
// (see Originate), which parkd should allow only for targets it trusts
// (an IP host in sip.allow, or through its outbound proxy).
type Refer struct {
	Call       *Call     // the leg that sent the REFER (the referrer)
	Target     string    // the Refer-To URI without its ?headers, e.g. "sip:701@127.0.0.1:5060"
	User       string    // its user part ("701"), "" if none
	Replaces   *Replaces // from Refer-To's embedded Replaces header (attended transfer), else nil
	ReferredBy *Party    // Referred-By of the REFER, else the referrer's remote party
	Log        *slog.Logger

	req      *sip.Request
	tx       sip.ServerTransaction
	event    string        // the NOTIFYs' Event: "refer", with ";id=CSeq" after the call's first REFER
	noSub    bool          // Refer-Sub: false (RFC 4488): answered 200, no NOTIFYs
	answered chan struct{} // closed once the answer went out: the transaction may end

	answerOnce sync.Once

	mu       sync.Mutex
	replied  bool          // Accept or Reject has run (or sipcore answered for the handler)
	accepted bool          // a 2xx went out: Finish is due
	finished bool          // Finish has run
	first    chan struct{} // closed once the 100 Trying NOTIFY is answered or given up on
	firstErr error         // why the subscription is already gone, if it is
}

const (
	// referAnswerTimeout bounds the wait for the handler's Accept or
	// Reject; a REFER's sender gives up after 32 s (Timer F).
	referAnswerTimeout = 8 * time.Second
	// referStateActive gives the implicit subscription a minute: long
	// enough for a transfer's call to ring out.
	referStateActive = "active;expires=60"
	referStateFinal  = "terminated;reason=noresource"
	sipfragType      = "message/sipfrag;version=2.0"
)

var errReferAnswered = errors.New("sipcore: REFER already answered")

// allowHeader lists what parkd answers; REFER only for a handler that
// follows transfers.
func (ep *Endpoint) allowHeader() string {
	if _, ok := ep.handler.(ReferHandler); ok {
		return allowMethods + ", REFER"
	}
	return allowMethods
}

// onReferRequest routes a REFER: one in a dialog to its call; one outside
// any dialog would create a dialog of its own, which parkd does not do.
func (ep *Endpoint) onReferRequest(req *sip.Request, tx sip.ServerTransaction) {
	if hasToTag(req) {
		ep.inDialog(req, tx)
		return
	}
	ep.respond(tx, req, 603, "Decline", sip.NewHeader("Warning", `399 parkd "REFER outside a call is not supported"`))
}

// onRefer checks a REFER received in the call and returns it for the
// handler, or answers it with an error and returns nil. Callers hold c.mu
// and have passed the CSeq check.
func (c *Call) onRefer(req *sip.Request, tx sip.ServerTransaction) *Refer {
	refuse := func(code int, reason, why string) *Refer {
		// Rate-limited per source: the why may quote what the peer sent.
		c.ep.logRefused(req, "REFER refused", "status", code, "why", why)
		c.ep.respond(tx, req, code, reason, sip.NewHeader("Warning", fmt.Sprintf("399 parkd %q", why)))
		return nil
	}
	values := referToValues(req)
	switch {
	case len(values) == 0:
		return refuse(400, "Bad Request", "REFER without Refer-To")
	case len(values) > 1:
		return refuse(400, "Bad Request", "several Refer-To values: one transfer at a time")
	}
	target, user, replaces, err := ParseReferTo(values[0])
	if err != nil {
		return refuse(400, "Bad Request", err.Error())
	}
	if _, ok := c.ep.handler.(ReferHandler); !ok {
		return refuse(603, "Decline", "transfers are not supported here")
	}
	select {
	case <-c.confirmed:
	default:
		return refuse(491, "Request Pending", "the call is not confirmed yet (no ACK for its 200)")
	}
	if c.refer != nil {
		return refuse(491, "Request Pending", "a transfer is already in progress in this call")
	}
	r := &Refer{
		Call: c, Target: target, User: user, Replaces: replaces,
		Log:      c.Logger().With("refer_to", clip(target)),
		req:      req,
		tx:       tx,
		event:    "refer",
		answered: make(chan struct{}),
		first:    make(chan struct{}),
	}
	if c.refers > 0 { // RFC 3515 §2.4.6: later subscriptions in the dialog carry the REFER's CSeq
		r.event = "refer;id=" + strconv.FormatUint(uint64(req.CSeq().SeqNo), 10)
	}
	c.refers++
	if by := firstHeader(req, "Referred-By", "b"); by != "" {
		if p, ok := parseNameAddr(by); ok {
			r.ReferredBy = &p
		}
	}
	if r.ReferredBy == nil {
		remote := c.Remote
		r.ReferredBy = &remote
	}
	if h := req.GetHeader("Refer-Sub"); h != nil && strings.EqualFold(strings.TrimSpace(h.Value()), "false") {
		r.noSub = true
	}
	c.refer = r
	return r
}

// referToValues lists every Refer-To value, the compact form "r" included
// (sipgo splits comma-separated Refer-To values; it leaves "r" alone).
func referToValues(req *sip.Request) []string {
	var out []string
	for _, h := range req.GetHeaders("Refer-To") {
		out = append(out, h.Value())
	}
	for _, h := range req.GetHeaders("r") {
		out = append(out, splitHeaderValues(h.Value())...)
	}
	return out
}

func firstHeader(req *sip.Request, names ...string) string {
	for _, n := range names {
		if h := req.GetHeader(n); h != nil {
			return h.Value()
		}
	}
	return ""
}

// serveRefer hands r to the handler and holds the REFER's server
// transaction open (sipgo ends it when its request handler returns) until
// the handler answers; one that does not is answered 500.
func (ep *Endpoint) serveRefer(r *Refer) {
	h := ep.handler.(ReferHandler) // onRefer checked
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		defer func() {
			if p := recover(); p != nil {
				r.Log.Error("panic in HandleRefer", "panic", p, "stack", string(debug.Stack()))
				// An accepted REFER left unfinished would refuse every
				// later one in the call with 491.
				ctx, cancel := context.WithTimeout(context.Background(), referAnswerTimeout)
				defer cancel()
				_ = r.Finish(ctx, 500, "Server Internal Error")
			}
		}()
		h.HandleRefer(context.Background(), r)
	}()
	timeout := time.NewTimer(referAnswerTimeout)
	defer timeout.Stop()
	select {
	case <-r.answered:
		return
	case <-returned:
	case <-timeout.C:
	}
	if r.claimReply() {
		r.Log.Error("the handler left a REFER unanswered")
		r.release()
		ep.respond(r.tx, r.req, 500, "Server Internal Error", sip.NewHeader("Warning", `399 parkd "transfer not handled"`))
		return
	}
	// The handler answered just as the wait ended: its answer is on the
	// way, and the transaction must outlive it.
	<-r.answered
}

// claimReply marks r answered; false when it already was.
func (r *Refer) claimReply() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.replied {
		return false
	}
	r.replied = true
	return true
}

// sent says the answer went out (or failed to): serveRefer may return and
// let sipgo end the transaction.
func (r *Refer) sent() { r.answerOnce.Do(func() { close(r.answered) }) }

// release lets the call take another REFER.
func (r *Refer) release() {
	r.Call.mu.Lock()
	r.releaseLocked()
	r.Call.mu.Unlock()
}

// releaseLocked is release for callers holding r.Call.mu.
func (r *Refer) releaseLocked() {
	if r.Call.refer == r {
		r.Call.refer = nil
	}
}

// Accept answers 202 Accepted and sends the first NOTIFY (Event: refer,
// Content-Type message/sipfrag, body "SIP/2.0 100 Trying",
// Subscription-State: active;expires=60). A REFER with Refer-Sub: false
// (RFC 4488) is answered 200 with Refer-Sub: false instead, and gets no
// NOTIFY at all. The error says the REFER could not be accepted: it was
// answered already, or the referrer's call ended meanwhile (then it is
// answered 481).
func (r *Refer) Accept() error {
	if !r.claimReply() {
		return errReferAnswered
	}
	defer r.sent()
	c := r.Call
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		r.release()
		c.ep.respond(r.tx, r.req, 481, "Call/Transaction Does Not Exist")
		return errors.New("sipcore: the referrer's call has ended")
	}
	var notify *sip.Request
	if !r.noSub {
		notify = r.notifyLocked(100, "Trying", referStateActive)
	}
	r.mu.Lock()
	r.accepted = true
	r.mu.Unlock()
	c.mu.Unlock()

	var res *sip.Response
	if r.noSub {
		res = sip.NewResponseFromRequest(r.req, 200, "OK", nil)
		res.AppendHeader(sip.NewHeader("Refer-Sub", "false"))
	} else {
		res = sip.NewResponseFromRequest(r.req, 202, "Accepted", nil)
	}
	res.AppendHeader(c.ep.contact(c.transport))
	if err := c.ep.reply(r.tx, r.req, res); err != nil {
		r.mu.Lock()
		r.accepted = false
		r.mu.Unlock()
		r.release()
		return fmt.Errorf("sipcore: answering REFER: %w", err)
	}
	r.Log.Info("REFER accepted", "user", r.User, "attended", r.Replaces != nil, "norefersub", r.noSub)
	if notify != nil {
		go r.sendFirst(notify)
	}
	return nil
}

// sendFirst sends the 100 Trying NOTIFY; the final one waits for its
// answer, since a notifier has one NOTIFY outstanding at a time.
func (r *Refer) sendFirst(notify *sip.Request) {
	defer close(r.first)
	ctx, cancel := context.WithTimeout(context.Background(), r.Call.ep.live().Subscriptions.NotifyTimeout)
	defer cancel()
	if err := r.send(ctx, notify); err != nil {
		r.Log.Info("first REFER NOTIFY failed", "error", err)
		r.mu.Lock()
		r.firstErr = err
		r.mu.Unlock()
	}
}

// Reject answers code (4xx/5xx/6xx) with a Warning header carrying warning.
func (r *Refer) Reject(code int, reason, warning string) error {
	if code < 400 || code > 699 {
		return fmt.Errorf("sipcore: REFER rejected with %d: not an error status", code)
	}
	if !r.claimReply() {
		return errReferAnswered
	}
	defer r.sent()
	r.release()
	var headers []sip.Header
	if warning != "" {
		headers = append(headers, sip.NewHeader("Warning", fmt.Sprintf("399 parkd %q", warning)))
	}
	r.Log.Info("REFER rejected", "status", code, "why", warning)
	res := sip.NewResponseFromRequest(r.req, code, reason, nil)
	for _, h := range headers {
		res.AppendHeader(h)
	}
	return r.Call.ep.reply(r.tx, r.req, res)
}

// Finish sends the final NOTIFY: body "SIP/2.0 <status> <reason>",
// Subscription-State: terminated;reason=noresource. It waits for the
// NOTIFY's response or ctx; an error (timeout, 481 because the referrer
// hung up) is returned but changes nothing else. Once the final NOTIFY is
// sent (or Finish gave up) the call takes another REFER.
func (r *Refer) Finish(ctx context.Context, status int, reason string) error {
	r.mu.Lock()
	switch {
	case !r.accepted:
		r.mu.Unlock()
		return errors.New("sipcore: Finish of a REFER that was not accepted")
	case r.finished:
		r.mu.Unlock()
		return errors.New("sipcore: REFER already finished")
	}
	r.finished = true
	r.mu.Unlock()
	defer r.release()
	if r.noSub {
		return nil
	}
	select {
	case <-r.first:
	case <-ctx.Done():
		return fmt.Errorf("sipcore: final REFER NOTIFY not sent: %w", ctx.Err())
	}
	r.mu.Lock()
	gone := r.firstErr
	r.mu.Unlock()
	if gone != nil {
		return fmt.Errorf("sipcore: final REFER NOTIFY not sent: the first one failed: %w", gone)
	}
	c := r.Call
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return errors.New("sipcore: final REFER NOTIFY not sent: the referrer's call has ended")
	}
	notify := r.notifyLocked(status, reason, referStateFinal)
	// Free from here: a phone may REFER again as soon as it has the
	// final NOTIFY, before parkd has its 200.
	r.releaseLocked()
	c.mu.Unlock()
	err := r.send(ctx, notify)
	if err != nil {
		r.Log.Info("final REFER NOTIFY failed", "status", status, "error", err)
	} else {
		r.Log.Debug("final REFER NOTIFY answered", "status", status)
	}
	return err
}

// notifyLocked builds a NOTIFY of r's implicit subscription in the call's
// dialog: the dialog's CSeq, remote target and route, like its BYE.
// Callers hold r.Call.mu.
func (r *Refer) notifyLocked(status int, reason, state string) *sip.Request {
	req := r.Call.newRequest(r.Call.ep, sip.NOTIFY)
	req.AppendHeader(sip.NewHeader("Event", r.event))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(sip.NewHeader("Content-Type", sipfragType))
	req.SetBody([]byte(sipfrag(status, reason)))
	return req
}

// sipfrag is the body of a refer NOTIFY: the status line of the
// transfer's INVITE (RFC 3515 §2.4.5).
func sipfrag(status int, reason string) string {
	reason = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, reason)
	if reason = strings.TrimSpace(reason); reason == "" {
		reason = statusText(status)
	}
	return fmt.Sprintf("SIP/2.0 %d %s\r\n", status, reason)
}

func statusText(status int) string {
	switch status {
	case 100:
		return "Trying"
	case 180:
		return "Ringing"
	case 200:
		return "OK"
	case 404:
		return "Not Found"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 503:
		return "Service Unavailable"
	case 603:
		return "Decline"
	}
	switch {
	case status < 200:
		return "Progress"
	case status < 300:
		return "OK"
	case status < 400:
		return "Redirection"
	case status < 500:
		return "Client Error"
	case status < 600:
		return "Server Error"
	}
	return "Global Failure"
}

// send sends a NOTIFY and waits for its final answer: anything but a 2xx
// (a 481 from a referrer that hung up) is an error.
func (r *Refer) send(ctx context.Context, notify *sip.Request) error {
	res, err := r.Call.ep.client.Do(ctx, notify)
	switch {
	case err != nil:
		return err
	case res == nil: // sipgo ends the transaction without an error when parkd shuts down
		return errors.New("NOTIFY not answered: its transaction ended")
	case !res.IsSuccess():
		return fmt.Errorf("NOTIFY answered %d %s", res.StatusCode, res.Reason)
	}
	return nil
}
