package siptest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// CallOptions shape an outgoing INVITE.
type CallOptions struct {
	Codecs  []string    // offered in this order; default PCMU, PCMA
	NoEvent bool        // leave telephone-event out of the offer
	Headers [][2]string // extra headers, e.g. {"Referred-By", "<sip:bob@example.com>"}
	NoSDP   bool        // late offer: INVITE without SDP, answer in the ACK
	SDP     []byte      // a raw offer instead of the phone's own
	// NoAck leaves a 2xx unacknowledged, as a phone whose ACK is lost
	// does; SendAck sends it later.
	NoAck bool
}

// Call is one call of a Phone: placed with Start or Dial, or answered
// from Incoming (see incoming.go for what differs then).
type Call struct {
	p      *Phone
	opts   CallOptions
	callID string
	invite *sip.Request
	tx     sip.ClientTransaction
	RTP    *RTP

	mu          sync.Mutex
	provisional []int
	final       *sip.Response
	finalCh     chan struct{}
	remoteTo    *sip.ToHeader
	target      sip.Uri
	routes      []string
	cseq        uint32
	bye         chan *sip.Request
	byeOnce     sync.Once
	destination string
	uas         *uasDialog      // set when the phone answered the call
	acks        []*sip.Request  // ACKs the phone received in the dialog
	ackKeys     map[string]bool // their Via branches and CSeqs, over TCP
	acked       chan struct{}   // closed by the first of them

	referNotifies referNotifies // NOTIFYs of the REFERs the phone sent, see refer.go
}

// Dial places a call and waits for its final response (ACKing a 2xx).
func (p *Phone) Dial(ctx context.Context, target string, opts CallOptions) (*Call, error) {
	c, err := p.Start(ctx, target, opts)
	if err != nil {
		return nil, err
	}
	if _, err := c.Wait(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Start sends an INVITE and returns at once; Wait gives the final response.
func (p *Phone) Start(ctx context.Context, target string, opts CallOptions) (*Call, error) {
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		return nil, fmt.Errorf("siptest: target %q: %w", target, err)
	}
	rtpSess, err := newRTP(p.host)
	if err != nil {
		return nil, err
	}
	p.t.Cleanup(rtpSess.Close)
	if len(opts.Codecs) == 0 {
		opts.Codecs = []string{"PCMU", "PCMA"}
	}
	rtpSess.event = !opts.NoEvent
	c := &Call{
		p: p, opts: opts, RTP: rtpSess, target: uri,
		callID:  sip.GenerateTagN(24) + "@siptest",
		finalCh: make(chan struct{}),
		bye:     make(chan *sip.Request, 1),
		cseq:    1,
	}
	c.destination = fmt.Sprintf("%s:%d", uri.Host, uri.Port)

	req := p.newDialogRequest(sip.INVITE, uri, c.callID, c.cseq)
	req.AppendHeader(p.contact())
	for _, h := range opts.Headers {
		req.AppendHeader(sip.NewHeader(h[0], h[1]))
	}
	switch {
	case opts.SDP != nil:
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(opts.SDP)
	case !opts.NoSDP:
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(rtpSess.offer(opts.Codecs, "sendrecv"))
	}
	p.prepare(req, c.destination)
	c.invite = req
	p.track(c)

	tx, err := p.client.TransactionRequest(ctx, req, sipgo.ClientRequestBuild)
	if err != nil {
		return nil, fmt.Errorf("siptest: INVITE: %w", err)
	}
	c.tx = tx
	go c.readResponses()
	return c, nil
}

func (c *Call) readResponses() {
	tx := c.tx
	challenges := 0
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				c.mu.Lock()
				c.provisional = append(c.provisional, res.StatusCode)
				c.mu.Unlock()
				continue
			}
			if (res.StatusCode == 401 || res.StatusCode == 407) && c.p.auth != nil && challenges < 2 {
				challenges++ // twice: a SHA-256 answer may get an MD5-only challenge back
				if next := c.authenticate(res); next != nil {
					tx = next
					continue
				}
			}
			c.onFinal(res)
			return
		case <-tx.Done():
			c.mu.Lock()
			if c.final == nil {
				close(c.finalCh)
			}
			c.mu.Unlock()
			return
		}
	}
}

// authenticate resends the INVITE with credentials for the challenge in
// res (sipgo raises its CSeq); nil when that could not be done, and then
// the challenge is the final response.
func (c *Call) authenticate(res *sip.Response) sip.ClientTransaction {
	tx, err := c.p.client.TransactionDigestAuth(context.Background(), c.invite, res, *c.p.auth)
	if err != nil {
		c.p.logf("answering %d with credentials: %v", res.StatusCode, err)
		return nil
	}
	c.mu.Lock()
	c.tx, c.cseq = tx, c.invite.CSeq().SeqNo
	c.mu.Unlock()
	return tx
}

func (c *Call) onFinal(res *sip.Response) {
	c.mu.Lock()
	c.final = res
	if res.IsSuccess() {
		c.remoteTo = res.To()
		if contact := res.Contact(); contact != nil {
			c.target = contact.Address
		}
		for _, rr := range res.GetHeaders("Record-Route") {
			c.routes = append([]string{rr.Value()}, c.routes...)
		}
		if body := res.Body(); len(body) > 0 {
			if err := c.RTP.applyRemote(body); err != nil {
				c.p.logf("bad SDP in 200: %v", err)
			}
		}
	}
	c.mu.Unlock()
	if res.IsSuccess() && !c.opts.NoAck {
		c.sendAck()
	}
	close(c.finalCh)
}

// SendAck sends the ACK of the call's 2xx now, for a call placed with
// NoAck.
func (c *Call) SendAck() { c.sendAck() }

func (c *Call) sendAck() {
	var body []byte
	if c.opts.NoSDP {
		body = c.RTP.offer(c.opts.Codecs, "sendrecv")
	}
	// The INVITE's CSeq: requests sent before a late ACK (NoAck) have
	// raised c.cseq since.
	c.mu.Lock()
	ack := c.inDialog(sip.ACK, c.invite.CSeq().SeqNo, body)
	c.mu.Unlock()
	if err := c.p.client.WriteRequest(ack, sipgo.ClientRequestBuild); err != nil {
		c.p.logf("ACK: %v", err)
	}
}

// Wait returns the final response to the INVITE.
func (c *Call) Wait(ctx context.Context) (*sip.Response, error) {
	select {
	case <-c.finalCh:
	case <-ctx.Done():
		return nil, fmt.Errorf("siptest: no final response to INVITE: %w", ctx.Err())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.final == nil {
		return nil, fmt.Errorf("siptest: INVITE transaction ended without a final response: %v", c.tx.Err())
	}
	return c.final, nil
}

// Status is the final status code, or 0 while there is none.
func (c *Call) Status() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.final == nil {
		return 0
	}
	return c.final.StatusCode
}

// Response is the final response (nil while there is none).
func (c *Call) Response() *sip.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.final
}

// Provisional lists the 1xx codes seen so far.
func (c *Call) Provisional() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.provisional...)
}

// CallID is the call's Call-ID.
func (c *Call) CallID() string { return c.callID }

// FromTag and ToTag are the tags of the INVITE's From and of its final
// response's To: for an outgoing call the phone's and the far end's, for an
// answered one the caller's and the phone's (LocalTag and RemoteTag do not
// depend on the direction).
func (c *Call) FromTag() string { t, _ := c.invite.From().Params.Get("tag"); return t }

// ToTag is the To tag of the final response to the INVITE.
func (c *Call) ToTag() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.remoteTo == nil {
		return ""
	}
	t, _ := c.remoteTo.Params.Get("tag")
	return t
}

// Cancel sends CANCEL for the pending INVITE.
func (c *Call) Cancel(ctx context.Context) (*sip.Response, error) {
	if c.uas != nil {
		return nil, errors.New("siptest: only the caller can CANCEL an INVITE")
	}
	inv := c.invite
	req := sip.NewRequest(sip.CANCEL, inv.Recipient)
	req.AppendHeader(inv.Via().Clone())
	req.AppendHeader(sip.HeaderClone(inv.From()))
	req.AppendHeader(sip.HeaderClone(inv.To()))
	req.AppendHeader(sip.HeaderClone(inv.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.SetBody(nil) // Content-Length: 0, which TCP needs
	c.p.prepare(req, c.destination)
	return c.p.client.Do(ctx, req, func(*sipgo.Client, *sip.Request) error { return nil })
}

// Hangup sends BYE and returns the response.
func (c *Call) Hangup(ctx context.Context) (*sip.Response, error) {
	c.mu.Lock()
	c.cseq++
	req := c.inDialog(sip.BYE, c.cseq, nil)
	c.mu.Unlock()
	return c.p.client.Do(ctx, req, sipgo.ClientRequestBuild)
}

// Reinvite sends a re-INVITE with the phone's SDP in the given direction
// (sendrecv, sendonly, recvonly, inactive) and ACKs a 2xx.
func (c *Call) Reinvite(ctx context.Context, direction string) (*sip.Response, error) {
	c.mu.Lock()
	c.cseq++
	cseq := c.cseq
	req := c.inDialog(sip.INVITE, cseq, c.RTP.offer(c.opts.Codecs, direction))
	c.mu.Unlock()
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(c.p.contact())
	res, err := c.p.client.Do(ctx, req, sipgo.ClientRequestBuild)
	if err != nil {
		return nil, err
	}
	if res.IsSuccess() {
		if err := c.RTP.applyRemote(res.Body()); err != nil {
			return res, err
		}
		ack := c.inDialog(sip.ACK, cseq, nil)
		if err := c.p.client.WriteRequest(ack, sipgo.ClientRequestBuild); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Request sends an arbitrary in-dialog request (UPDATE, INFO, OPTIONS …).
func (c *Call) Request(ctx context.Context, method sip.RequestMethod, contentType string, body []byte) (*sip.Response, error) {
	c.mu.Lock()
	c.cseq++
	req := c.inDialog(method, c.cseq, body)
	c.mu.Unlock()
	if contentType != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	}
	return c.p.client.Do(ctx, req, sipgo.ClientRequestBuild)
}

// inDialog builds a request in this call's dialog; callers hold c.mu or
// have no concurrent users.
func (c *Call) inDialog(method sip.RequestMethod, cseq uint32, body []byte) *sip.Request {
	req := sip.NewRequest(method, c.target)
	switch {
	case c.uas != nil: // the phone answered: its side is the INVITE's To
		req.AppendHeader(sip.HeaderClone(c.uas.local))
		req.AppendHeader(sip.HeaderClone(c.uas.remote))
	case c.remoteTo != nil:
		req.AppendHeader(sip.HeaderClone(c.invite.From()))
		req.AppendHeader(sip.HeaderClone(c.remoteTo))
	default:
		req.AppendHeader(sip.HeaderClone(c.invite.From()))
		req.AppendHeader(sip.HeaderClone(c.invite.To()))
	}
	cid := sip.CallIDHeader(c.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	for _, r := range c.routes {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	if body != nil {
		req.SetBody(body)
	}
	dest := c.destination
	if c.p.Transport == "udp" {
		dest = fmt.Sprintf("%s:%d", c.target.Host, c.target.Port)
	}
	c.p.prepare(req, dest)
	return req
}

func (c *Call) byeReceived(req *sip.Request) {
	c.byeOnce.Do(func() { c.bye <- req })
}

// WaitHangup waits for the far end to send BYE and returns it.
func (c *Call) WaitHangup(ctx context.Context) (*sip.Request, error) {
	select {
	case req := <-c.bye:
		c.bye <- req // let later waiters see it too
		return req, nil
	case <-ctx.Done():
		return nil, errors.New("siptest: no BYE from the far end: " + ctx.Err().Error())
	}
}

// HungUp reports whether the far end has sent BYE.
func (c *Call) HungUp() bool { return len(c.bye) > 0 }

// Header returns a header of the final response, or "".
func (c *Call) Header(name string) string {
	res := c.Response()
	if res == nil {
		return ""
	}
	if h := res.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// Warning is the final response's Warning text, for failure messages.
func (c *Call) Warning() string { return strings.TrimSpace(c.Header("Warning")) }
