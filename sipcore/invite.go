package sipcore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
)

// ErrCanceled is returned by Invite.Answer when the caller sent CANCEL first.
var ErrCanceled = errors.New("sipcore: INVITE was canceled by the caller")

// Party is a SIP identity as parkd shows it: display name and URI.
type Party struct {
	Display string
	URI     string // e.g. sip:alice@example.com
	User    string // the URI's user part
}

func (p Party) String() string {
	if p.Display != "" {
		return fmt.Sprintf("%q <%s>", p.Display, p.URI)
	}
	return "<" + p.URI + ">"
}

// Replaces is an RFC 3891 Replaces header: the dialog the new INVITE takes over.
type Replaces struct {
	CallID    string
	ToTag     string
	FromTag   string
	EarlyOnly bool
}

// Invite is a new incoming INVITE waiting for parkd's decision.
type Invite struct {
	ep       *Endpoint
	req      *sip.Request
	tx       sip.ServerTransaction
	offer    *Offer // nil when the INVITE carried no SDP (late offer)
	localTag string
	Log      *slog.Logger

	CallID     string
	Target     string // the Request-URI user: the extension dialled
	From       Party
	ReferredBy *Party    // set when the INVITE comes from a transfer (RFC 3892)
	Replaces   *Replaces // set for pickups and attended transfers
	Source     string    // host:port the INVITE came from
	Transport  string    // "udp" or "tcp"
	Identity   Identity  // who sent it: see Identity

	mu       sync.Mutex
	finished bool
	canceled chan struct{}
	once     sync.Once
	// sending2xx is set as the 200 is handed to the transaction, which
	// may end at once (accepted.go): that end cancels nothing.
	sending2xx atomic.Bool
	// endHandler ends the handler's context: set before the transaction's
	// callbacks can fire, and called by cancel.
	endHandler atomic.Pointer[context.CancelFunc]
}

// Header returns the first value of a request header, or "".
func (inv *Invite) Header(name string) string {
	if h := inv.req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// Headers returns every value of a request header, with comma-joined
// values (History-Info: <a>;index=1, <b>;index=1.1) split apart.
func (inv *Invite) Headers(name string) []string {
	var out []string
	for _, h := range inv.req.GetHeaders(name) {
		out = append(out, splitHeaderValues(h.Value())...)
	}
	return out
}

// splitHeaderValues splits a header on the commas between values, not
// those inside <...> or quotes.
func splitHeaderValues(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' && (i == 0 || v[i-1] != '\\'):
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>' && depth > 0:
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(v[start:i]))
			start = i + 1
		}
	}
	if rest := strings.TrimSpace(v[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
}

// ParseNameAddr reads a name-addr or addr-spec header value (Referred-By,
// Diversion, History-Info) as a Party.
func ParseNameAddr(value string) (Party, bool) { return parseNameAddr(value) }

// Canceled is closed when the caller sends CANCEL (its transaction has
// then already answered 487) or the INVITE transaction ends before parkd
// answered.
func (inv *Invite) Canceled() <-chan struct{} { return inv.canceled }

// cancel closes Canceled and ends the handler's context. It may run on
// sipgo's goroutines, the UDP read loop or a CANCEL's handler
// (invite_tx.go), from the transaction's callbacks: it only closes
// channels, and must never block.
func (inv *Invite) cancel() {
	inv.once.Do(func() { close(inv.canceled) })
	if end := inv.endHandler.Load(); end != nil {
		(*end)()
	}
}

// cancelHook holds the INVITE transaction's CANCEL and termination
// callbacks. The transaction, sipgo's or parkd's own (invite_tx.go),
// keeps the callbacks for up to 64*T1 after a final answer other than
// 2xx (Timers H and I; a 2xx ends it at once, accepted.go); the hook lets go of the Invite, with
// its offer and logger, once the handler has answered, when neither can
// change anything. At a few hundred calls a second, 32 s of Invites
// kept this way were a tenth of the live heap the GC marks.
type cancelHook struct{ inv atomic.Pointer[Invite] }

func (h *cancelHook) fire(*sip.Request) {
	if inv := h.inv.Load(); inv != nil {
		inv.cancel()
	}
}

// ended is the transaction's termination callback. A transaction that
// ends before parkd answered (a failed send of its provisional answer,
// or an explicit Terminate) cancels the INVITE as a CANCEL would; one
// that ends as its 2xx leaves (accepted.go) cancels nothing, and the
// handler goes on with the call.
// A callback, not a goroutine per INVITE waiting on the transaction's
// Done: at 1,000 calls a second those were 2,000 goroutines a second in
// the run queue an INVITE waits in (docs/PERFORMANCE.md, nineteenth
// pass).
func (h *cancelHook) ended(string, error) {
	if inv := h.inv.Load(); inv != nil && !inv.sending2xx.Load() {
		inv.cancel()
	}
}

func (ep *Endpoint) newInvite(req *sip.Request, tx sip.ServerTransaction) {
	log := ep.log.With("call_id", callID(req))
	if ep.draining.Load() {
		ep.respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", "30"),
			sip.NewHeader("Warning", `399 parkd "shutting down"`))
		return
	}
	id, ok := ep.identify(req, tx)
	if !ok {
		return
	}
	inv := &Invite{
		ep: ep, req: req, tx: tx, Log: log,
		localTag:  sip.GenerateTagN(16),
		canceled:  make(chan struct{}),
		CallID:    callID(req),
		Target:    req.Recipient.User,
		Source:    req.Source(),
		Transport: strings.ToLower(req.Transport()),
		Identity:  id,
	}
	if from := req.From(); from != nil {
		inv.From = party(from.DisplayName, from.Address)
	}
	if rb := req.GetHeader("Referred-By"); rb != nil {
		if p, ok := parseNameAddr(rb.Value()); ok {
			inv.ReferredBy = &p
		}
	}
	if h := req.GetHeader("Replaces"); h != nil {
		r, err := parseReplaces(h.Value())
		if err != nil {
			ep.logRefused(req, "rejected INVITE with a malformed Replaces", "error", err.Error())
			ep.respond(tx, req, 400, "Bad Request", sip.NewHeader("Warning", fmt.Sprintf(`399 parkd %q`, err.Error())))
			return
		}
		inv.Replaces = &r
	}
	if body := req.Body(); len(body) > 0 {
		offer, err := ParseOffer(body)
		switch {
		case errors.Is(err, ErrNoCommonCodec):
			ep.logRefused(req, "rejected INVITE: no common codec", "from", inv.From.URI)
			ep.respond(tx, req, 488, "Not Acceptable Here", sip.NewHeader("Warning", `305 parkd "no common codec: offer PCMU or PCMA"`))
			return
		case err != nil:
			ep.logRefused(req, "rejected INVITE: bad SDP", "error", err.Error())
			ep.respond(tx, req, 400, "Bad Request", sip.NewHeader("Warning", fmt.Sprintf(`399 parkd %q`, err.Error())))
			return
		}
		inv.offer = offer
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inv.endHandler.Store(&cancel) // before either callback can fire
	hook := &cancelHook{}
	hook.inv.Store(inv)
	defer hook.inv.Store(nil)
	if !tx.OnCancel(hook.fire) || !tx.OnTerminate(hook.ended) {
		inv.cancel() // the transaction has already ended
	}
	ep.handler.HandleInvite(ctx, inv)
	if inv.finish() {
		log.Error("handler left an INVITE unanswered")
		ep.respond(tx, req, 500, "Server Internal Error")
	}
}

// finish marks the INVITE as answered; false when it already was.
func (inv *Invite) finish() bool {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.finished {
		return false
	}
	inv.finished = true
	return true
}

func (inv *Invite) response(code int, reason string, body []byte) *sip.Response {
	res := sip.NewResponseFromRequest(inv.req, code, reason, body)
	res.To().Params.Add("tag", inv.localTag)
	return res
}

// Ring sends 180 Ringing.
func (inv *Invite) Ring() error {
	res := inv.response(180, "Ringing", nil)
	res.AppendHeader(inv.ep.contact(inv.Transport))
	return inv.ep.reply(inv.tx, inv.req, res)
}

// Reject answers with a final error; warning, when set, explains why in a
// Warning header so the caller's logs show the reason.
func (inv *Invite) Reject(code int, reason, warning string) error {
	if !inv.finish() {
		return errors.New("sipcore: INVITE already answered")
	}
	res := inv.response(code, reason, nil)
	if warning != "" {
		res.AppendHeader(sip.NewHeader("Warning", fmt.Sprintf("399 parkd %q", warning)))
	}
	if code == 486 || code == 503 {
		res.AppendHeader(sip.NewHeader("Retry-After", "10"))
	}
	inv.Log.Info("INVITE rejected", "status", code, "why", warning)
	return inv.ep.reply(inv.tx, inv.req, res)
}

// Redirect answers 302 Moved Temporarily towards uri, for a full lot that
// forwards; the caller's proxy follows it.
func (inv *Invite) Redirect(uri, why string) error {
	var target sip.Uri
	if err := sip.ParseUri(uri, &target); err != nil {
		return fmt.Errorf("sipcore: redirect target %q: %w", uri, err)
	}
	if !inv.finish() {
		return errors.New("sipcore: INVITE already answered")
	}
	res := inv.response(302, "Moved Temporarily", nil)
	res.AppendHeader(&sip.ContactHeader{Address: target})
	if why != "" {
		res.AppendHeader(sip.NewHeader("Warning", fmt.Sprintf("399 parkd %q", why)))
	}
	inv.Log.Info("INVITE redirected", "to", uri, "why", why)
	return inv.ep.reply(inv.tx, inv.req, res)
}

// Answer opens an RTP session, answers 200 with SDP and returns the call.
func (inv *Invite) Answer() (*Call, error) {
	select {
	case <-inv.canceled:
		inv.finish()
		return nil, ErrCanceled
	default:
	}
	if !inv.finish() {
		return nil, errors.New("sipcore: INVITE already answered")
	}
	ep := inv.ep
	src := sourceAddr(inv.req.MessageData.Source())
	counted := !inv.Identity.Trusted
	if counted && !ep.unconfirmed.take(src) {
		ep.logRefused(inv.req, "INVITE refused: too many calls from this source answered and not ACKed", "limit", maxUnconfirmedPerSource)
		res := inv.response(503, "Service Unavailable", nil)
		res.AppendHeader(sip.NewHeader("Warning", `399 parkd "too many unacknowledged calls from this source"`))
		res.AppendHeader(sip.NewHeader("Retry-After", "5"))
		ep.reply(inv.tx, inv.req, res)
		return nil, errors.New("sipcore: too many unacknowledged calls from this source")
	}
	sess, err := ep.cfg.RTP.Open(inv.Log)
	if err != nil {
		if counted {
			ep.unconfirmed.release(src)
		}
		inv.Log.Error("no RTP port for the call", "error", err)
		res := inv.response(503, "Service Unavailable", nil)
		res.AppendHeader(sip.NewHeader("Warning", `399 parkd "no free RTP port"`))
		res.AppendHeader(sip.NewHeader("Retry-After", "10"))
		ep.reply(inv.tx, inv.req, res)
		return nil, err
	}
	c := newCall(ep, inv, sess)
	c.unconfirmedFrom, c.holdsPlace = src, counted
	ep.latchMedia(sess, inv.req.MessageData.Source())
	body, err := c.answerBody(inv.offer)
	if err != nil {
		c.releaseUnconfirmed()
		sess.Close()
		ep.reply(inv.tx, inv.req, inv.response(500, "Server Internal Error", nil))
		return nil, err
	}
	res := inv.response(200, "OK", body)
	res.AppendHeader(ep.contact(inv.Transport))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Allow", ep.allowHeader()))

	cseq := inv.req.CSeq().SeqNo
	c.mu.Lock()
	ack := c.expectAck(cseq)
	c.mu.Unlock()
	ep.dialogs.add(c)
	sess.Start(ep.live().RTPTimeout, c.onRTPTimeout)
	err = errCanceledBeforeAnswer
	if !inv.isCanceled() { // again: a CANCEL may have come while the answer was built
		beforeAnswerSent(inv)
		inv.sending2xx.Store(true)
		err = ep.reply(inv.tx, inv.req, res)
	}
	if err != nil {
		c.releaseUnconfirmed()
		ep.dialogs.remove(c)
		sess.Close()
		if errors.Is(err, sip.ErrTransactionCanceled) || err == errCanceledBeforeAnswer {
			if err != errCanceledBeforeAnswer {
				inv.Log.Info("CANCEL crossed the 200: the caller keeps its 487")
			}
			return nil, ErrCanceled
		}
		return nil, fmt.Errorf("sipcore: sending 200: %w", err)
	}
	// The 2xx ends sipgo's transaction (accepted.go), here rather than on
	// the goroutine its Timer L of zero starts, where sipgo's two debug
	// lines grew a fresh stack: 1-2 % of a park+retrieve pair's CPU.
	// parkd's own (invite_tx.go) has ended already: nothing to do.
	inv.tx.Terminate()
	c.retransmitUntilAck(res, inv.tx, ack)
	inv.Log.Info("call answered", "from", inv.From.URI, "to", inv.Target,
		"codec", c.media.Format().Codec, "rtp_local", sess.LocalAddr(), "transport", inv.Transport)
	return c, nil
}

func party(display string, uri sip.Uri) Party {
	u := sip.Uri{Scheme: uri.Scheme, User: uri.User, Host: uri.Host, Port: uri.Port}
	if u.Scheme == "" {
		u.Scheme = "sip"
	}
	return Party{Display: display, URI: u.String(), User: uri.User}
}

// parseNameAddr reads a name-addr header value such as Referred-By.
func parseNameAddr(value string) (Party, bool) {
	var uri sip.Uri
	var params sip.HeaderParams
	display, err := sip.ParseAddressValue(value, &uri, &params)
	if err != nil || uri.Host == "" {
		return Party{}, false
	}
	return party(display, uri), true
}

func parseReplaces(value string) (Replaces, error) {
	parts := strings.Split(value, ";")
	r := Replaces{CallID: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "to-tag":
			r.ToTag = v
		case "from-tag":
			r.FromTag = v
		case "early-only":
			r.EarlyOnly = true
		}
	}
	if r.CallID == "" || r.ToTag == "" || r.FromTag == "" {
		return r, fmt.Errorf("Replaces %q needs a call-id, to-tag and from-tag", value)
	}
	return r, nil
}

func randomSessionID() uint64 { return rand.Uint64N(1 << 53) }
