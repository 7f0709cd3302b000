package siptest

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// Incoming is a call ringing at the phone: a new INVITE (one without a To
// tag) that the test answers, rejects or lets the caller cancel. Until it
// is answered or rejected, sipgo's server transaction stays open: it sends
// 487 when a CANCEL arrives, and 100 Trying by itself after 200 ms unless
// the process imports sipcore, which turns that sipgo timer off.
type Incoming struct {
	p        *Phone
	req      *sip.Request
	tx       sip.ServerTransaction
	tag      string        // the phone's To tag in every response it sends
	canceled chan struct{} // closed when the caller's CANCEL arrives
	done     chan struct{} // closed when a final response went through tx

	mu          sync.Mutex
	wasCanceled bool
	cancel      *sip.Request // the CANCEL (nil if it came before we listened)
	final       int          // status sent through the transaction; 0: none
	call        *Call        // the answered call: by Answer or a late 200
	armed       *lateAnswer  // AnswerOnCancel: the 200 the CANCEL releases
	lateErr     error        // writing a late 200 failed
	cancelOnce  sync.Once
	doneOnce    sync.Once
}

// uasDialog is what a Call the phone answered needs for its own requests.
type uasDialog struct {
	local     *sip.FromHeader // the INVITE's To with the phone's tag
	remote    *sip.ToHeader   // the INVITE's From
	tag       string
	lateOffer bool // the INVITE had no SDP: the 200 offered, the ACK answers
}

// inbox queues the new INVITEs a phone receives.
type inbox struct {
	mu    sync.Mutex
	queue []*Incoming
	wake  chan struct{} // closed and replaced whenever queue grows
	count int
	armed map[string]*Incoming // by Call-ID: AnswerOnCancel waits for a CANCEL
}

// Incoming waits for the next new INVITE, in the order they arrived. It
// fails when ctx ends or the phone is closed.
func (p *Phone) Incoming(ctx context.Context) (*Incoming, error) {
	for {
		p.inbox.mu.Lock()
		if len(p.inbox.queue) > 0 {
			in := p.inbox.queue[0]
			p.inbox.queue[0] = nil
			p.inbox.queue = p.inbox.queue[1:]
			p.inbox.mu.Unlock()
			return in, nil
		}
		wake := p.inbox.wakeLocked()
		p.inbox.mu.Unlock()
		select {
		case <-wake:
		case <-p.closed:
			return nil, fmt.Errorf("siptest: phone %s closed while waiting for an INVITE", p.User)
		case <-ctx.Done():
			return nil, fmt.Errorf("siptest: no INVITE reached %s: %w", p.User, ctx.Err())
		}
	}
}

// IncomingCount is how many new INVITEs the phone has received, read by
// Incoming or not: 0 means it never rang.
func (p *Phone) IncomingCount() int {
	p.inbox.mu.Lock()
	defer p.inbox.mu.Unlock()
	return p.inbox.count
}

func (b *inbox) wakeLocked() chan struct{} {
	if b.wake == nil {
		b.wake = make(chan struct{})
	}
	return b.wake
}

func (b *inbox) push(in *Incoming) {
	b.mu.Lock()
	b.queue = append(b.queue, in)
	b.count++
	close(b.wakeLocked())
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

// onInvite serves re-INVITEs of known calls and queues new INVITEs. sipgo
// ends a server transaction whose handler returns without a final
// response, so the handler waits while the phone rings.
func (p *Phone) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil {
		if tag, _ := to.Params.Get("tag"); tag != "" {
			p.onReinvite(req, tx)
			return
		}
	}
	in := &Incoming{
		p: p, req: req, tx: tx, tag: sip.GenerateTagN(12),
		canceled: make(chan struct{}),
		done:     make(chan struct{}),
	}
	// The CANCEL may beat the hook, which sipgo then reports as an error.
	if !tx.OnCancel(in.onCancel) && errors.Is(tx.Err(), sip.ErrTransactionCanceled) {
		in.onCancel(nil)
	}
	p.inbox.push(in)
	select {
	case <-in.done:
	case <-in.canceled:
	case <-tx.Done():
	case <-p.closed:
	}
}

// Request is the INVITE.
func (in *Incoming) Request() *sip.Request { return in.req }

// CallID is the INVITE's Call-ID.
func (in *Incoming) CallID() string {
	if cid := in.req.CallID(); cid != nil {
		return cid.Value()
	}
	return ""
}

// Tag is the To tag the phone puts in its responses (sipgo's own 100 and
// 487 excepted: the 100 has none, the 487 a tag of sipgo's).
func (in *Incoming) Tag() string { return in.tag }

// Header is the INVITE's first header of that name ("Alert-Info",
// "Subject" …), or "".
func (in *Incoming) Header(name string) string {
	if h := in.req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// From is the caller as the phone would show it: the From display name and
// URI.
func (in *Incoming) From() (display, uri string) {
	from := in.req.From()
	if from == nil {
		return "", ""
	}
	return from.DisplayName, from.Address.String()
}

// Ring sends 180 Ringing.
func (in *Incoming) Ring() error {
	in.mu.Lock()
	if in.wasCanceled || in.final != 0 {
		defer in.mu.Unlock()
		return errors.New("siptest: cannot ring: " + in.stateLocked())
	}
	in.mu.Unlock()
	return in.tx.Respond(in.response(180, nil))
}

// Reject sends a final failure response, e.g. 486 Busy Here or 603 Decline.
func (in *Incoming) Reject(code int) error {
	if code < 300 || code > 699 {
		return fmt.Errorf("siptest: cannot reject with %d", code)
	}
	if err := in.reserve(code); err != nil {
		return err
	}
	err := in.tx.Respond(in.response(code, nil))
	in.finish()
	return err
}

// Answer sends 200 OK with the phone's SDP answer (or an offer, to an
// INVITE without SDP) and waits for the ACK, resending the 200 over UDP
// until it comes. The Call works like one from Dial: RTP on a socket of
// its own, Hangup, WaitHangup, Reinvite. When no ACK comes before ctx
// ends, the Call is returned with the error, so the test can still hang up.
func (in *Incoming) Answer(ctx context.Context) (*Call, error) {
	if err := in.reserve(200); err != nil {
		return nil, err
	}
	c, res, err := in.startCall()
	if err != nil {
		return nil, err
	}
	if err := in.tx.Respond(res); err != nil {
		// A CANCEL got there first: sipgo sent 487 instead.
		in.p.untrack(c)
		in.unreserve(c)
		c.RTP.Close()
		return nil, fmt.Errorf("siptest: 200 to INVITE: %w", err)
	}
	in.finish()
	// The 200 is resent through the transport, as RFC 6026 has the TU do:
	// the transaction may be gone already (sipcore sets sipgo's Timer L
	// to zero, and a test runs parkd and its phones in one process).
	return c, c.awaitAck(ctx, func() { in.p.server.WriteResponse(res) })
}

// Call is the answered call (by Answer or a late 200), or nil.
func (in *Incoming) Call() *Call {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.call
}

// reserve claims the final response for code.
func (in *Incoming) reserve(code int) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.wasCanceled || in.final != 0 || in.armed != nil {
		return errors.New("siptest: " + in.stateLocked())
	}
	in.final = code
	return nil
}

// unreserve gives the final response back after a failure to send it.
func (in *Incoming) unreserve(c *Call) {
	in.mu.Lock()
	in.final = 0
	if in.call == c {
		in.call = nil
	}
	in.mu.Unlock()
}

func (in *Incoming) stateLocked() string {
	switch {
	case in.final > 0:
		return fmt.Sprintf("the INVITE was answered %d", in.final)
	case in.final < 0:
		return "a late 200 is on its way"
	case in.armed != nil:
		return "the phone waits to answer the CANCEL"
	case in.wasCanceled:
		return "the caller canceled"
	}
	return "ringing"
}

// finish lets the INVITE handler return.
func (in *Incoming) finish() { in.doneOnce.Do(func() { close(in.done) }) }

// response builds a response with the phone's To tag.
func (in *Incoming) response(code int, body []byte) *sip.Response {
	res := sip.NewResponseFromRequest(in.req, code, inviteReason(code), body)
	res.To().Params.Add("tag", in.tag)
	return res
}

// newCall builds the Call the phone's 200 starts, and the 200.
func (in *Incoming) newCall() (*Call, *sip.Response, error) {
	inv := in.req
	if inv.From() == nil || inv.To() == nil || inv.CallID() == nil {
		return nil, nil, errors.New("siptest: INVITE without From, To or Call-ID")
	}
	r, err := newRTP(in.p.host)
	if err != nil {
		return nil, nil, err
	}
	in.p.t.Cleanup(r.Close)
	codecs := []string{"PCMU", "PCMA"}
	lateOffer := len(inv.Body()) == 0
	var body []byte
	if lateOffer {
		r.event = true
		body = r.offer(codecs, "sendrecv")
	} else if body, err = r.answer(inv.Body()); err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("siptest: cannot answer the offer: %w", err)
	} else if r.codec == "PCMA" {
		codecs = []string{"PCMA", "PCMU"}
	}
	res := in.response(200, body)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(in.p.contact())

	to := sip.HeaderClone(inv.To()).(*sip.ToHeader)
	to.Params.Add("tag", in.tag)
	from := sip.HeaderClone(inv.From()).(*sip.FromHeader)
	c := &Call{
		p: in.p, opts: CallOptions{Codecs: codecs, NoEvent: !r.event}, RTP: r,
		callID: inv.CallID().Value(), invite: inv, target: from.Address,
		final: res, finalCh: make(chan struct{}), remoteTo: res.To(),
		bye: make(chan *sip.Request, 1),
		// In-dialog requests keep to the connection the INVITE came on
		// over TCP; over UDP inDialog sends them to the Contact.
		destination: inv.Source(),
		uas: &uasDialog{
			local:     &sip.FromHeader{DisplayName: to.DisplayName, Address: to.Address, Params: to.Params},
			remote:    &sip.ToHeader{DisplayName: from.DisplayName, Address: from.Address, Params: from.Params},
			tag:       in.tag,
			lateOffer: lateOffer,
		},
	}
	close(c.finalCh)
	if contact := inv.Contact(); contact != nil {
		c.target = contact.Address
	}
	for _, rr := range inv.GetHeaders("Record-Route") { // the UAS keeps their order
		c.routes = append(c.routes, rr.Value())
	}
	return c, res, nil
}

func (p *Phone) untrack(c *Call) {
	p.mu.Lock()
	if p.calls[c.callID] == c {
		delete(p.calls, c.callID)
	}
	p.mu.Unlock()
}

// LocalTag is the phone's tag in the call's dialog.
func (c *Call) LocalTag() string {
	if c.uas != nil {
		return c.uas.tag
	}
	return c.FromTag()
}

// RemoteTag is the far end's tag in the call's dialog.
func (c *Call) RemoteTag() string {
	if c.uas != nil {
		return c.FromTag()
	}
	return c.ToTag()
}

// inviteReason is the reason phrase of a response to INVITE.
func inviteReason(code int) string {
	switch code {
	case 180:
		return "Ringing"
	case 183:
		return "Session Progress"
	case 480:
		return "Temporarily Unavailable"
	case 481:
		return "Call/Transaction Does Not Exist"
	case 487:
		return "Request Terminated"
	case 488:
		return "Not Acceptable Here"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	}
	return reason(code)
}

// startCall builds the answered Call and its 200, once a final response is
// reserved, and makes the phone route the dialog's requests to it.
func (in *Incoming) startCall() (*Call, *sip.Response, error) {
	c, res, err := in.newCall()
	if err != nil {
		in.unreserve(nil)
		return nil, nil, err
	}
	in.mu.Lock()
	in.call = c
	in.mu.Unlock()
	in.p.track(c)
	return c, res, nil
}
