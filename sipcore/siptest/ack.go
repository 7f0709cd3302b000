package siptest

import (
	"context"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// onAck hands the ACK of a 2xx the phone sent to its call. ACKs of non-2xx
// responses belong to sipgo's transaction; one that outlived it carries
// another To tag and is ignored here.
func (p *Phone) onAck(req *sip.Request, _ sip.ServerTransaction) {
	c := p.call(req)
	if c == nil || req.To() == nil {
		return
	}
	if tag, _ := req.To().Params.Get("tag"); tag != c.LocalTag() {
		return
	}
	c.ackReceived(req)
}

// Ack is the first ACK of the phone's 200, or nil.
func (in *Incoming) Ack() *sip.Request {
	c := in.Call()
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.acks) == 0 {
		return nil
	}
	return c.acks[0]
}

// ackedLocked is the channel the first ACK closes; callers hold c.mu.
func (c *Call) ackedLocked() chan struct{} {
	if c.acked == nil {
		c.acked = make(chan struct{})
	}
	return c.acked
}

func (c *Call) ackReceived(req *sip.Request) {
	c.mu.Lock()
	c.acks = append(c.acks, req)
	first := len(c.acks) == 1
	acked := c.ackedLocked()
	c.mu.Unlock()
	if !first {
		return
	}
	if c.uas != nil && c.uas.lateOffer {
		if err := c.RTP.applyRemote(req.Body()); err != nil {
			c.p.logf("no SDP answer in the ACK: %v", err)
		}
	}
	close(acked)
}

// WaitAck waits for the first ACK the phone receives in the call: for a
// call it answered, the ACK of its 200 (also after a late 200).
func (c *Call) WaitAck(ctx context.Context) (*sip.Request, error) {
	return c.waitAck(ctx, nil)
}

// awaitAck is WaitAck that also resends the 200 over UDP with the
// intervals of RFC 3261 13.3.1.4.
func (c *Call) awaitAck(ctx context.Context, resend func()) error {
	if c.p.Transport != "udp" {
		resend = nil
	}
	_, err := c.waitAck(ctx, resend)
	return err
}

func (c *Call) waitAck(ctx context.Context, resend func()) (*sip.Request, error) {
	c.mu.Lock()
	acked := c.ackedLocked()
	c.mu.Unlock()
	var tick <-chan time.Time
	var timer *time.Timer
	interval := sip.T1
	if resend != nil {
		timer = time.NewTimer(interval)
		defer timer.Stop()
		tick = timer.C
	}
	for {
		select {
		case <-acked:
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.acks[0], nil
		case <-tick:
			resend()
			interval = min(2*interval, sip.T2)
			timer.Reset(interval)
		case <-c.p.closed:
			return nil, fmt.Errorf("siptest: phone %s closed while waiting for ACK", c.p.User)
		case <-ctx.Done():
			return nil, fmt.Errorf("siptest: no ACK for the 200: %w", ctx.Err())
		}
	}
}

// Acks is how many ACKs the phone has received in the call: of its 200
// (more than one if a UAC ACKs each retransmission) and of its 200s to
// re-INVITEs.
func (c *Call) Acks() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.acks)
}
