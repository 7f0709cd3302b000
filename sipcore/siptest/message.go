package siptest

import (
	"context"
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// Message is a SIP MESSAGE (RFC 3428) the phone received.
type Message struct {
	From        string // the From URI
	ContentType string
	Body        string
}

// RejectMessages makes the phone answer every MESSAGE with status
// (e.g. 415, 486) instead of 200; 0 restores 200.
func (p *Phone) RejectMessages(status int) {
	p.mu.Lock()
	p.messageStatus = status
	p.mu.Unlock()
}

func (p *Phone) onMessage(req *sip.Request, tx sip.ServerTransaction) {
	p.mu.Lock()
	status := p.messageStatus
	p.mu.Unlock()
	if status != 0 {
		tx.Respond(sip.NewResponseFromRequest(req, status, "Refused by test", nil))
		return
	}
	m := Message{Body: string(req.Body())}
	if f := req.From(); f != nil {
		m.From = f.Address.String()
	}
	if ct := req.ContentType(); ct != nil {
		m.ContentType = ct.Value()
	}
	tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	select {
	case p.messages <- m:
	default: // nobody reads them: the test does not care
	}
}

// NextMessage waits for the next MESSAGE the phone answered 200.
func (p *Phone) NextMessage(ctx context.Context) (Message, error) {
	select {
	case m := <-p.messages:
		return m, nil
	case <-ctx.Done():
		return Message{}, fmt.Errorf("siptest: %s received no MESSAGE: %w", p.User, ctx.Err())
	}
}
