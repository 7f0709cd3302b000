package siptest

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
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
	if c.p.Transport != "udp" {
		// sniffAcks and sipgo may both hand over an ACK; a reliable
		// transport carries no copies of it.
		key := ackKey(req)
		if c.ackKeys[key] {
			c.mu.Unlock()
			return
		}
		if c.ackKeys == nil {
			c.ackKeys = map[string]bool{}
		}
		c.ackKeys[key] = true
	}
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

// ackKey names an ACK: its top Via branch and CSeq number.
func ackKey(req *sip.Request) string {
	key := ""
	if via := req.Via(); via != nil {
		key, _ = via.Params.Get("branch")
	}
	if cseq := req.CSeq(); cseq != nil {
		key += " " + strconv.FormatUint(uint64(cseq.SeqNo), 10)
	}
	return key
}

// sniffAcks hands the phone's calls the ACKs in a read from a TCP
// connection, before sipgo parses it. sipgo gives an ACK to a 2xx (which
// matches no transaction) a server transaction of its own, and looks up
// the connection it came on for that: when the far end has closed it
// meanwhile (parkd at shutdown, right after its ACK and BYE), sipgo dials
// back, is refused, and drops the ACK, which a phone would have read.
// The read is taken apart by Content-Length from its start (one that
// starts inside a body is left to sipgo alone); an ACK found whole is
// handed over, and sipgo's copy of it, if any, is then ignored.
func (p *Phone) sniffAcks(data []byte) {
	for rest := data; len(rest) > 0; {
		n := messageLength(rest)
		if n == 0 {
			return // not all here: sipgo reads the rest
		}
		if bytes.HasPrefix(rest, []byte("ACK ")) {
			if msg, err := sip.ParseMessage(append([]byte(nil), rest[:n]...)); err == nil {
				if req, ok := msg.(*sip.Request); ok && req.IsAck() {
					p.onAck(req, nil)
				}
			}
		}
		rest = rest[n:]
	}
}

// messageLength is the length of the SIP message data starts with, by its
// Content-Length (0 when absent), or 0 when data does not hold all of it.
func messageLength(data []byte) int {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return 0
	}
	body := 0
	for _, line := range bytes.Split(data[:end], []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		if name = bytes.TrimSpace(name); bytes.EqualFold(name, []byte("Content-Length")) || bytes.EqualFold(name, []byte("l")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil || n < 0 {
				return 0
			}
			body = n
		}
	}
	if end+4+body > len(data) {
		return 0
	}
	return end + 4 + body
}
