package siptest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// ReferNotify is one NOTIFY of a REFER's implicit subscription (RFC 3515):
// the message/sipfrag status line of the transfer and the subscription's state.
type ReferNotify struct {
	Status  int    // from the sipfrag body, e.g. 100 or 200; 0 if it has none
	Reason  string // its reason phrase
	State   string // Subscription-State before ';': active, terminated
	Request *sip.Request
}

// referNotifies queues the refer NOTIFYs a call received, in arrival order.
type referNotifies struct {
	mu    sync.Mutex
	queue []*ReferNotify
	wake  chan struct{} // closed and replaced whenever queue grows
	seen  map[string]bool
}

// Refer sends REFER in the call's dialog with Refer-To referTo ("" sends
// none) and extra headers, e.g. {"Referred-By", "<sip:bob@…>"}, and returns
// the final response. The NOTIFYs it brings are read with NextReferNotify.
func (c *Call) Refer(ctx context.Context, referTo string, headers ...[2]string) (*sip.Response, error) {
	c.mu.Lock()
	c.cseq++
	req := c.inDialog(sip.REFER, c.cseq, nil)
	c.mu.Unlock()
	if referTo != "" {
		req.AppendHeader(sip.NewHeader("Refer-To", referTo))
	}
	req.AppendHeader(c.p.contact())
	for _, h := range headers {
		req.AppendHeader(sip.NewHeader(h[0], h[1]))
	}
	req.SetBody(nil) // Content-Length: 0, which TCP needs
	return c.p.client.Do(ctx, req, sipgo.ClientRequestBuild)
}

// NextReferNotify waits for the next refer NOTIFY the phone received in
// this call's dialog (answered 200 by the phone automatically). None is
// lost between calls: they are queued from the start of the call.
func (c *Call) NextReferNotify(ctx context.Context) (*ReferNotify, error) {
	q := &c.referNotifies
	for {
		q.mu.Lock()
		if len(q.queue) > 0 {
			n := q.queue[0]
			q.queue[0] = nil
			q.queue = q.queue[1:]
			q.mu.Unlock()
			return n, nil
		}
		if q.wake == nil {
			q.wake = make(chan struct{})
		}
		wake := q.wake
		q.mu.Unlock()
		select {
		case <-wake:
		case <-c.p.closed:
			return nil, fmt.Errorf("siptest: phone %s closed while waiting for a refer NOTIFY", c.p.User)
		case <-ctx.Done():
			return nil, fmt.Errorf("siptest: no refer NOTIFY: %w", ctx.Err())
		}
	}
}

// ReferNotifies is how many refer NOTIFYs are queued and not yet read.
func (c *Call) ReferNotifies() int {
	c.referNotifies.mu.Lock()
	defer c.referNotifies.mu.Unlock()
	return len(c.referNotifies.queue)
}

// ReferTo builds a Refer-To value for an attended transfer: the target URI
// with a Replaces naming the dialog callID;to-tag;from-tag, URL-escaped as
// phones send it (RFC 3891 §7).
func ReferTo(target, callID, toTag, fromTag string) string {
	replaces := callID + ";to-tag=" + toTag + ";from-tag=" + fromTag
	return "<" + target + "?Replaces=" + escapeURIHeader(replaces) + ">"
}

// escapeURIHeader escapes all but RFC 3261's unreserved characters.
func escapeURIHeader(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9',
			strings.IndexByte("-_.!~*'()", ch) >= 0:
			b.WriteByte(ch)
		default:
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// referCall is the call a refer NOTIFY belongs to: its Call-ID, the
// phone's tag in its To, and Event: refer.
func (p *Phone) referCall(req *sip.Request) *Call {
	ev := req.GetHeader("Event")
	if ev == nil {
		ev = req.GetHeader("o")
	}
	if ev == nil || eventPackage(ev.Value()) != "refer" {
		return nil
	}
	c := p.call(req)
	if c == nil {
		return nil
	}
	to := req.To()
	if to == nil {
		return nil
	}
	if tag, _ := to.Params.Get("tag"); tag != c.LocalTag() {
		return nil
	}
	return c
}

// onReferNotify queues a refer NOTIFY, then answers it 200: a notifier
// that has its 200 knows the test can read it.
func (c *Call) onReferNotify(req *sip.Request, tx sip.ServerTransaction) {
	q := &c.referNotifies
	q.mu.Lock()
	if q.seen == nil {
		q.seen = map[string]bool{}
	}
	if key := notifyKey(req); key == "" || !q.seen[key] {
		q.seen[key] = true
		q.queue = append(q.queue, parseReferNotify(req))
		if q.wake != nil {
			close(q.wake)
		}
		q.wake = make(chan struct{})
	}
	q.mu.Unlock()
	tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
}

func parseReferNotify(req *sip.Request) *ReferNotify {
	n := &ReferNotify{Request: req}
	if h := req.GetHeader("Subscription-State"); h != nil {
		state, _, _ := strings.Cut(h.Value(), ";")
		n.State = strings.TrimSpace(state)
	}
	line, _, _ := strings.Cut(string(req.Body()), "\n")
	fields := strings.SplitN(strings.TrimSpace(line), " ", 3)
	if len(fields) >= 2 && strings.EqualFold(fields[0], "SIP/2.0") {
		n.Status, _ = strconv.Atoi(fields[1])
		if len(fields) == 3 {
			n.Reason = fields[2]
		}
	}
	return n
}
