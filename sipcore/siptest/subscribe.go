package siptest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// SubscribeOptions shape an outgoing SUBSCRIBE (RFC 6665).
type SubscribeOptions struct {
	Event string // Event header; default "dialog"
	// Expires is sent as "Expires: N"; NoExpires leaves the header out, so
	// the notifier picks its default. The zero value sends 0: a fetch.
	Expires int
	// Accept is the Accept header; by default application/dialog-info+xml
	// for "dialog", application/pidf+xml for "presence" and none for other
	// packages. "-" leaves it out even where there is a default.
	Accept  string
	Headers [][2]string // extra headers, sent with the initial SUBSCRIBE only
}

// NoExpires as SubscribeOptions.Expires (or to Refresh) sends no Expires.
const NoExpires = -1

// Subscription is one subscription the phone made with Subscribe.
type Subscription struct {
	p           *Phone
	opts        SubscribeOptions
	callID      string
	subscribe   *sip.Request // the initial SUBSCRIBE
	destination string       // host:port the initial SUBSCRIBE went to

	mu        sync.Mutex
	final     *sip.Response
	remoteTag string
	target    sip.Uri  // remote target for refreshes
	routes    []string // route set, in the order Route headers are sent
	from2xx   bool     // target and routes come from a 2xx, not a NOTIFY
	cseq      uint32
	answer    int // status the phone answers NOTIFYs with; 0: none
	queue     []*Notify
	wake      chan struct{}   // closed and replaced whenever queue grows
	seen      map[string]bool // Via branch+CSeq of NOTIFYs already queued
	forgotten bool
}

// Notify is one NOTIFY the phone received.
type Notify struct {
	Request     *sip.Request
	State       string // Subscription-State value before ';', as sent: active, pending, terminated
	Expires     int    // its expires= parameter, -1 if absent
	Reason      string // its reason= parameter
	RetryAfter  int    // its retry-after= parameter, -1 if absent
	Event       string // Event header value
	ContentType string
	Body        []byte
	CSeq        uint32
	Received    time.Time
}

// Subscribe sends a SUBSCRIBE to target (e.g. "sip:701@127.0.0.1:5060")
// and waits for its final response. A non-2xx answer is not an error: it is
// in Response and Status. The error is for a failed transport, a
// transaction that ended without a final response, or ctx.
//
// The subscription is known to the phone from before the SUBSCRIBE is sent,
// because a notifier may send the first NOTIFY before its 200 (RFC 6665
// 4.1.2.4). It stays known after a non-2xx too, so that a NOTIFY the
// notifier should not have sent is still queued for the test to see;
// Forget makes the phone refuse them instead.
func (p *Phone) Subscribe(ctx context.Context, target string, opts SubscribeOptions) (*Subscription, error) {
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		return nil, fmt.Errorf("siptest: target %q: %w", target, err)
	}
	if opts.Event == "" {
		opts.Event = "dialog"
	}
	switch {
	case opts.Accept == "-":
		opts.Accept = ""
	case opts.Accept != "":
	case eventPackage(opts.Event) == "dialog":
		opts.Accept = "application/dialog-info+xml"
	case eventPackage(opts.Event) == "presence":
		opts.Accept = "application/pidf+xml"
	}
	s := &Subscription{
		p: p, opts: opts, target: uri,
		callID: sip.GenerateTagN(24) + "@siptest",
		cseq:   1,
		answer: 200,
		wake:   make(chan struct{}),
		seen:   map[string]bool{},
	}
	s.destination = fmt.Sprintf("%s:%d", uri.Host, uri.Port)

	req := p.newDialogRequest(sip.SUBSCRIBE, uri, s.callID, s.cseq)
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(p.contact())
	s.addSubscribeHeaders(req, opts.Expires)
	for _, h := range opts.Headers {
		req.AppendHeader(sip.NewHeader(h[0], h[1]))
	}
	req.SetBody(nil) // Content-Length: 0, which TCP needs
	p.prepare(req, s.destination)
	s.subscribe = req
	p.trackSub(s)

	res, err := p.client.Do(ctx, req, sipgo.ClientRequestBuild)
	// Twice: a SHA-256 answer may get an MD5-only challenge back.
	for i := 0; i < 2 && err == nil && (res.StatusCode == 401 || res.StatusCode == 407) && p.auth != nil; i++ {
		res, err = p.client.DoDigestAuth(ctx, req, res, *p.auth)
		s.mu.Lock()
		s.cseq = req.CSeq().SeqNo
		s.mu.Unlock()
	}
	if err != nil {
		// Nobody holds the subscription to Forget it: NOTIFYs are refused.
		p.untrackSub(s)
		return nil, fmt.Errorf("siptest: SUBSCRIBE: %w", err)
	}
	s.onFinal(res)
	return s, nil
}

// eventPackage is an Event value without its parameters (";id=…").
func eventPackage(event string) string {
	pkg, _, _ := strings.Cut(event, ";")
	return strings.ToLower(strings.TrimSpace(pkg))
}

// addSubscribeHeaders adds what every SUBSCRIBE of this subscription
// carries; a negative expires sends no Expires.
func (s *Subscription) addSubscribeHeaders(req *sip.Request, expires int) {
	req.AppendHeader(sip.NewHeader("Event", s.opts.Event))
	if expires >= 0 {
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	}
	if s.opts.Accept != "" {
		req.AppendHeader(sip.NewHeader("Accept", s.opts.Accept))
	}
}

func (s *Subscription) onFinal(res *sip.Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.final = res
	if !res.IsSuccess() {
		return
	}
	// A NOTIFY that came first already named the notifier; keep that tag.
	if s.remoteTag == "" {
		s.remoteTag, _ = res.To().Params.Get("tag")
	}
	s.dialogFrom2xx(res)
}

// dialogFrom2xx takes the remote target and route set from a 2xx to a
// SUBSCRIBE, which are what the notifier asked us to use; callers hold s.mu.
func (s *Subscription) dialogFrom2xx(res *sip.Response) {
	if contact := res.Contact(); contact != nil {
		s.target = contact.Address
	}
	s.routes = nil
	for _, rr := range res.GetHeaders("Record-Route") {
		s.routes = append([]string{rr.Value()}, s.routes...)
	}
	s.from2xx = true
}

// Response is the final response to the initial SUBSCRIBE.
func (s *Subscription) Response() *sip.Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.final
}

// Status is the initial SUBSCRIBE's final status code.
func (s *Subscription) Status() int {
	if res := s.Response(); res != nil {
		return res.StatusCode
	}
	return 0
}

// Header returns a header of the initial SUBSCRIBE's final response, or "".
func (s *Subscription) Header(name string) string {
	res := s.Response()
	if res == nil {
		return ""
	}
	if h := res.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// CallID is the subscription dialog's Call-ID.
func (s *Subscription) CallID() string { return s.callID }

// LocalTag is the phone's From tag.
func (s *Subscription) LocalTag() string {
	t, _ := s.subscribe.From().Params.Get("tag")
	return t
}

// RemoteTag is the notifier's tag: the 200's To tag, or the first
// NOTIFY's From tag if that came first; "" while neither has.
func (s *Subscription) RemoteTag() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remoteTag
}

// Next waits for the next NOTIFY of this subscription. NOTIFYs are queued
// in arrival order from the moment the SUBSCRIBE is sent, so none is lost
// between calls; once the phone is closed, Next returns what is queued and
// then an error.
func (s *Subscription) Next(ctx context.Context) (*Notify, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			n := s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return n, nil
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-s.p.closed:
			return nil, fmt.Errorf("siptest: phone %s closed while waiting for NOTIFY (%s)", s.p.User, s.opts.Event)
		case <-ctx.Done():
			return nil, fmt.Errorf("siptest: no NOTIFY (%s): %w", s.opts.Event, ctx.Err())
		}
	}
}

// Pending is how many received NOTIFYs are queued and not yet read by Next.
func (s *Subscription) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Refresh sends an in-dialog SUBSCRIBE with Expires: expires (NoExpires:
// without Expires) and returns the response. Extra headers of the initial
// SUBSCRIBE are not repeated.
func (s *Subscription) Refresh(ctx context.Context, expires int) (*sip.Response, error) {
	s.mu.Lock()
	if s.remoteTag == "" {
		status := s.final.StatusCode
		s.mu.Unlock()
		return nil, fmt.Errorf("siptest: no subscription dialog to refresh (SUBSCRIBE answered %d, no NOTIFY)", status)
	}
	s.cseq++
	req := s.inDialog(sip.SUBSCRIBE, s.cseq)
	s.mu.Unlock()
	req.AppendHeader(s.p.contact())
	s.addSubscribeHeaders(req, expires)
	req.SetBody(nil)
	res, err := s.p.client.Do(ctx, req, sipgo.ClientRequestBuild)
	if err != nil {
		return nil, fmt.Errorf("siptest: SUBSCRIBE refresh: %w", err)
	}
	if res.IsSuccess() {
		// SUBSCRIBE is a target refresh request (RFC 6665 4.1.2.1).
		s.mu.Lock()
		if contact := res.Contact(); contact != nil {
			s.target = contact.Address
		}
		s.mu.Unlock()
	}
	return res, nil
}

// Unsubscribe is Refresh(ctx, 0).
func (s *Subscription) Unsubscribe(ctx context.Context) (*sip.Response, error) {
	return s.Refresh(ctx, 0)
}

// inDialog builds a request in the subscription's dialog, the way
// Call.inDialog does; callers hold s.mu.
func (s *Subscription) inDialog(method sip.RequestMethod, cseq uint32) *sip.Request {
	req := sip.NewRequest(method, s.target)
	req.AppendHeader(sip.HeaderClone(s.subscribe.From()))
	to := sip.HeaderClone(s.subscribe.To()).(*sip.ToHeader)
	to.Params.Add("tag", s.remoteTag)
	req.AppendHeader(to)
	cid := sip.CallIDHeader(s.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	for _, r := range s.routes {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	dest := s.destination
	if s.p.Transport == "udp" {
		dest = fmt.Sprintf("%s:%d", s.target.Host, s.target.Port)
	}
	s.p.prepare(req, dest)
	return req
}

// AnswerNotifies sets the status code the phone answers this
// subscription's NOTIFYs with from now on (default 200). 0 leaves them
// unanswered, so the notifier's transaction times out. Either way the
// NOTIFYs are queued for Next.
func (s *Subscription) AnswerNotifies(code int) {
	s.mu.Lock()
	s.answer = code
	s.mu.Unlock()
}

// Forget drops the subscription from the phone: later NOTIFYs for its
// Call-ID are answered 481 and not queued, as by a phone that rebooted.
// What is already queued can still be read with Next.
func (s *Subscription) Forget() {
	s.mu.Lock()
	s.forgotten = true
	s.mu.Unlock()
	s.p.untrackSub(s)
}

// received queues a NOTIFY and says how to answer it (0: not at all).
func (s *Subscription) received(req *sip.Request) int {
	n := parseNotify(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forgotten {
		// Forget raced with this NOTIFY's lookup.
		return 481
	}
	if s.remoteTag == "" {
		s.remoteTag, _ = req.From().Params.Get("tag")
	}
	if !s.from2xx {
		// The NOTIFY created the dialog (RFC 6665 4.1.2.4): until a 2xx
		// says otherwise, refresh towards its Contact and Record-Route.
		if contact := req.Contact(); contact != nil {
			s.target = contact.Address
		}
		s.routes = nil
		for _, rr := range req.GetHeaders("Record-Route") {
			s.routes = append(s.routes, rr.Value())
		}
	}
	// An unanswered NOTIFY's server transaction is gone when the handler
	// returns, so over UDP its retransmissions come back here; queue each
	// NOTIFY once.
	if key := notifyKey(req); key == "" || !s.seen[key] {
		if key != "" {
			s.seen[key] = true
		}
		s.queue = append(s.queue, n)
		close(s.wake)
		s.wake = make(chan struct{})
	}
	return s.answer
}

func notifyKey(req *sip.Request) string {
	via, cseq := req.Via(), req.CSeq()
	if via == nil || cseq == nil {
		return ""
	}
	branch, _ := via.Params.Get("branch")
	if branch == "" {
		return ""
	}
	return branch + " " + strconv.FormatUint(uint64(cseq.SeqNo), 10)
}

func parseNotify(req *sip.Request) *Notify {
	n := &Notify{Request: req, Expires: -1, RetryAfter: -1, Body: req.Body(), Received: time.Now()}
	if h := req.GetHeader("Subscription-State"); h != nil {
		params := strings.Split(h.Value(), ";")
		n.State = strings.TrimSpace(params[0])
		for _, param := range params[1:] {
			k, v, _ := strings.Cut(param, "=")
			v = strings.Trim(strings.TrimSpace(v), `"`)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "expires":
				if i, err := strconv.Atoi(v); err == nil {
					n.Expires = i
				}
			case "reason":
				n.Reason = v
			case "retry-after":
				if i, err := strconv.Atoi(v); err == nil {
					n.RetryAfter = i
				}
			}
		}
	}
	if h := req.GetHeader("Event"); h != nil {
		n.Event = strings.TrimSpace(h.Value())
	} else if h := req.GetHeader("o"); h != nil { // compact form
		n.Event = strings.TrimSpace(h.Value())
	}
	if h := req.ContentType(); h != nil {
		n.ContentType = h.Value()
	}
	if cseq := req.CSeq(); cseq != nil {
		n.CSeq = cseq.SeqNo
	}
	return n
}

func (p *Phone) trackSub(s *Subscription) {
	p.mu.Lock()
	p.subs[s.callID] = s
	p.mu.Unlock()
}

func (p *Phone) untrackSub(s *Subscription) {
	p.mu.Lock()
	if p.subs[s.callID] == s {
		delete(p.subs, s.callID)
	}
	p.mu.Unlock()
}

// subscription finds the subscription a NOTIFY belongs to: its Call-ID and
// our tag in its To.
func (p *Phone) subscription(req *sip.Request) *Subscription {
	cid := req.CallID()
	if cid == nil {
		return nil
	}
	p.mu.Lock()
	s := p.subs[cid.Value()]
	p.mu.Unlock()
	if s == nil {
		return nil
	}
	if to := req.To(); to == nil {
		return nil
	} else if tag, _ := to.Params.Get("tag"); tag != s.LocalTag() {
		return nil
	}
	return s
}

// onNotify queues a NOTIFY for its subscription before answering it, so a
// notifier that has its 200 knows the test can read it.
func (p *Phone) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	s := p.subscription(req)
	if s == nil {
		if c := p.referCall(req); c != nil { // a REFER's implicit subscription
			c.onReferNotify(req, tx)
			return
		}
		tx.Respond(sip.NewResponseFromRequest(req, 481, "Subscription Does Not Exist", nil))
		return
	}
	code := s.received(req)
	if code <= 0 {
		return
	}
	tx.Respond(sip.NewResponseFromRequest(req, code, reason(code), nil))
}

// reason is a reason phrase for the codes a test is likely to answer with.
func reason(code int) string {
	switch code {
	case 200:
		return "OK"
	case 202:
		return "Accepted"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 481:
		return "Subscription Does Not Exist"
	case 486:
		return "Busy Here"
	case 489:
		return "Bad Event"
	case 500:
		return "Server Internal Error"
	case 503:
		return "Service Unavailable"
	}
	switch {
	case code < 300:
		return "OK"
	case code < 400:
		return "Redirect"
	case code < 500:
		return "Client Error"
	case code < 600:
		return "Server Error"
	}
	return "Global Failure"
}
