package sipcore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore/media"
)

// cancelTimeout bounds a CANCEL (and the BYE of a late answer) in the background.
const cancelTimeout = 10 * time.Second

// branch is one INVITE of an Originate, to one target.
type branch struct {
	ep     *Endpoint
	fork   *fork
	index  int
	target string
	log    *slog.Logger
	invite *sip.Request
	tx     sip.ClientTransaction
	sess   *media.Session
	desc   LocalDescription
	hop    netip.Addr // where the INVITE went; its answers come from there

	mu          sync.Mutex
	provisional bool // a 1xx came: a CANCEL may be sent (RFC 3261 §9.1)
	canceling   bool // parkd wants it gone
	cancelSent  bool
	answered    bool
	ack         *sip.Request // the ACK of our 200, resent for each retransmitted 200
}

// startBranch sends the INVITE for one target.
func (ep *Endpoint) startBranch(ctx context.Context, o Originate, index int, target string, f *fork) (*branch, error) {
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		return nil, fmt.Errorf("bad SIP URI %q: %w", target, err)
	}
	var proxy *sip.Uri
	if o.Proxy != "" {
		proxy = &sip.Uri{}
		if err := sip.ParseUri(o.Proxy, proxy); err != nil {
			return nil, fmt.Errorf("bad outbound proxy %q: %w", o.Proxy, err)
		}
	}
	var from sip.Uri
	if err := sip.ParseUri(o.From.URI, &from); err != nil {
		return nil, fmt.Errorf("bad caller URI %q: %w", o.From.URI, err)
	}
	transport := uriTransport(uri)
	if proxy != nil {
		transport = uriTransport(*proxy)
	}
	if _, ok := ep.listenerFor(transport); !ok {
		return nil, fmt.Errorf("no %s listener to reach %s", transport, target)
	}
	// Resolved here, the one place parkd looks up names: the target and
	// the proxy come from the configuration or the API.
	hopURI := uri
	if proxy != nil {
		hopURI = *proxy
	}
	hop, err := resolveHop(ctx, hopURI, transport)
	if err != nil {
		return nil, err
	}

	callID := sip.GenerateTagN(24) + "@parkd"
	log := o.Log.With("recall_call_id", callID, "target", target)
	sess, err := ep.cfg.RTP.Open(log)
	if err != nil {
		return nil, fmt.Errorf("no free RTP port: %w", err)
	}
	b := &branch{
		ep: ep, fork: f, index: index, target: target, log: log, sess: sess,
		desc: LocalDescription{
			SessionID: randomSessionID(),
			Version:   randomSessionID() & 0xffff,
			Address:   ep.mediaAddress(sess.LocalAddr().Addr()),
			Port:      sess.LocalAddr().Port(),
		},
	}
	offer, err := b.desc.Offer()
	if err != nil {
		sess.Close()
		return nil, err
	}

	req := sip.NewRequest(sip.INVITE, uri)
	fromHdr := &sip.FromHeader{DisplayName: o.From.Display, Address: sip.Uri{Scheme: "sip", User: from.User, Host: from.Host, Port: from.Port}}
	fromHdr.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(fromHdr)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: uri.Scheme, User: uri.User, Host: uri.Host, Port: uri.Port}})
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: uint32(randomSessionID()&0x7fff) + 1, MethodName: sip.INVITE})
	if proxy != nil {
		route := sip.Uri{Scheme: proxy.Scheme, Host: proxy.Host, Port: proxy.Port, UriParams: sip.HeaderParams{{K: "lr", V: ""}}}
		if transport == "tcp" {
			route.UriParams.Add("transport", "tcp")
		}
		req.AppendHeader(sip.NewHeader("Route", "<"+route.String()+">"))
	}
	req.AppendHeader(ep.contact(transport))
	req.AppendHeader(sip.NewHeader("Allow", ep.allowHeader()))
	for _, h := range o.Headers {
		req.AppendHeader(sip.NewHeader(h[0], h[1]))
	}
	if o.Replaces != nil {
		req.AppendHeader(sip.NewHeader("Replaces", o.Replaces.String()))
	}
	if o.ReferredBy != nil {
		req.AppendHeader(sip.NewHeader("Referred-By", o.ReferredBy.String()))
	}
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(offer)
	req.SetTransport(strings.ToUpper(transport))
	req.SetDestination(hop.String())
	if l, ok := ep.listenerFor("udp"); ok && transport == "udp" {
		req.Laddr = sip.Addr{IP: l.addr.Addr().AsSlice(), Port: int(l.addr.Port())}
	}
	b.invite = req

	// The transaction lives as long as SIP says, not as long as ctx: a
	// canceled branch still has to see its 487 (or ACK a late 200).
	if err := ep.inflight.add(b); err != nil {
		sess.Close()
		return nil, err
	}
	tx, err := ep.client.TransactionRequest(context.Background(), req)
	if err != nil {
		ep.inflight.remove(b)
		sess.Close()
		return nil, fmt.Errorf("sending INVITE: %w", err)
	}
	b.tx = tx
	b.hop = hop.Addr().Unmap()
	ep.sent.add(req, b.hop, time.Now())
	tx.OnRetransmission(b.onRetransmission)
	log.Info("ringing", "from", o.From.String())
	go b.run()
	return b, nil
}

func uriTransport(u sip.Uri) string {
	if t, ok := u.UriParams.Get("transport"); ok && strings.EqualFold(t, "tcp") {
		return "tcp"
	}
	return "udp"
}

// run reads the branch's responses until its final one, and has the
// branch count as in flight until then (and until an answer is a call or
// hung up).
func (b *branch) run() {
	defer b.ep.inflight.remove(b)
	for {
		select {
		case res := <-b.tx.Responses():
			switch {
			case res.IsProvisional():
				b.onProvisional()
			case res.IsSuccess():
				b.onAnswer(res)
				return
			default:
				b.sess.Close()
				b.log.Info("target refused", "status", res.StatusCode, "reason", res.Reason)
				b.report(branchResult{index: b.index, attempt: Attempt{Target: b.target, Status: res.StatusCode, Reason: res.Reason}})
				return
			}
		case <-b.tx.Done():
			b.sess.Close()
			reason := "no response"
			if err := b.tx.Err(); err != nil && !errors.Is(err, sip.ErrTransactionTerminated) {
				reason = err.Error()
			}
			b.log.Info("target did not answer", "why", reason)
			b.report(branchResult{index: b.index, attempt: Attempt{Target: b.target, Reason: reason}})
			return
		}
	}
}

// report hands a failure to Originate; after it returned, nobody reads.
func (b *branch) report(r branchResult) {
	b.fork.mu.Lock()
	done := b.fork.done
	b.fork.mu.Unlock()
	if !done {
		b.fork.results <- r // buffered for every branch
	}
}

func (b *branch) onProvisional() {
	b.mu.Lock()
	b.provisional = true
	b.mu.Unlock()
	b.cancelWhenReady()
}

// cancel stops the branch: CANCEL once a provisional response came, else
// as soon as one does (a final response makes it moot).
func (b *branch) cancel() {
	b.mu.Lock()
	if b.answered || b.canceling {
		b.mu.Unlock()
		return
	}
	b.canceling = true
	b.mu.Unlock()
	b.cancelWhenReady()
}

// cancelWhenReady sends the one CANCEL once parkd wants the branch gone
// and a provisional response allows it (RFC 3261 §9.1).
func (b *branch) cancelWhenReady() {
	b.mu.Lock()
	send := b.canceling && b.provisional && !b.cancelSent
	b.cancelSent = b.cancelSent || send
	b.mu.Unlock()
	if send {
		go b.sendCancel()
	}
}

func (b *branch) sendCancel() {
	inv := b.invite
	req := sip.NewRequest(sip.CANCEL, inv.Recipient)
	req.AppendHeader(sip.HeaderClone(inv.Via()))
	req.AppendHeader(sip.HeaderClone(inv.From()))
	req.AppendHeader(sip.HeaderClone(inv.To()))
	req.AppendHeader(sip.HeaderClone(inv.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	sip.CopyHeaders("Route", inv, req)
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.SetTransport(inv.Transport())
	req.SetDestination(inv.Destination())
	req.Laddr = inv.Laddr
	// sipgo adds nothing to a request sent with options: over TCP a
	// message without Content-Length cannot be framed (RFC 3261 §20.14).
	req.SetBody(nil)
	ctx, cancel := context.WithTimeout(context.Background(), cancelTimeout)
	defer cancel()
	res, err := b.ep.client.Do(ctx, req, func(*sipgo.Client, *sip.Request) error { return nil })
	switch {
	case err != nil:
		b.log.Debug("CANCEL not answered", "error", err)
	case res == nil: // sipgo ends the transaction without an error when parkd shuts down
		b.log.Debug("CANCEL not answered: its transaction ended")
	default:
		b.log.Debug("CANCEL answered", "status", res.StatusCode)
	}
	if err != nil || res == nil || !res.IsSuccess() {
		// No 487 is coming (481: the callee no longer knows the INVITE):
		// Shutdown need not wait out the INVITE's timer for it.
		b.ep.inflight.remove(b)
	}
}

// onAnswer ACKs a 200 and makes it the Originate's call, or hangs it up
// when another branch won or parkd stopped ringing meanwhile.
func (b *branch) onAnswer(res *sip.Response) {
	ack := b.ep.ackFor(b.invite, res)
	b.mu.Lock()
	b.answered = true
	b.ack = ack
	b.mu.Unlock()
	sendACK := func() {
		if err := b.ep.client.WriteRequest(ack); err != nil {
			b.log.Warn("ACK for 200 not sent", "error", err)
		}
	}
	// The hang-ups below run on the branch's goroutine, so that the branch
	// counts as in flight, for Shutdown, until their BYE is answered.
	if b.ep.draining.Load() {
		sendACK()
		b.sess.Close()
		b.log.Info("answered while parkd shuts down: hanging it up")
		b.report(branchResult{index: b.index, attempt: Attempt{Target: b.target, Status: res.StatusCode, Reason: "answered during shutdown"}})
		b.ep.byeStray(b.invite, res, "shutdown")
		return
	}
	answer, err := ParseOffer(res.Body())
	if err != nil {
		sendACK()
		b.sess.Close()
		b.log.Warn("answer has no usable SDP: hanging it up", "error", err)
		b.report(branchResult{index: b.index, attempt: Attempt{Target: b.target, Status: 488, Reason: "unusable SDP answer: " + err.Error()}})
		b.ep.byeStray(b.invite, res, "no usable SDP answer")
		return
	}
	if !b.fork.claim() {
		sendACK()
		b.sess.Close()
		b.log.Info("answered after the call went elsewhere: hanging it up")
		b.ep.byeStray(b.invite, res, "answered elsewhere")
		return
	}
	c := newOutboundCall(b.ep, b.invite, res, b.sess, b.desc, answer, b.log)
	c.ack = ack
	// Known as a dialog before the ACK leaves: the phone may hang up the
	// moment it has the ACK, and a BYE that came first would get 481 and
	// leave parkd holding a call the phone thinks is over.
	b.ep.dialogs.add(c)
	sendACK()
	b.sess.Start(b.ep.live().RTPTimeout, c.onRTPTimeout)
	b.log.Info("answered", "codec", c.media.Format().Codec, "rtp_local", b.sess.LocalAddr())
	b.fork.results <- branchResult{index: b.index, call: c}
	if b.ep.draining.Load() {
		// Shutdown began while this answer became a call: its hangupAll
		// may have listed the calls before this one was added.
		ctx, cancel := context.WithTimeout(context.Background(), cancelTimeout)
		defer cancel()
		c.HangupCause(ctx, CauseTemporaryFailure, "shutdown")
	}
}

// onRetransmission re-ACKs a resent 200 (our ACK was lost); a 200 from
// another fork of the same INVITE gets ACK and BYE.
func (b *branch) onRetransmission(res *sip.Response) {
	if !res.IsSuccess() {
		return
	}
	b.mu.Lock()
	ack := b.ack
	b.mu.Unlock()
	if sourceAddr(res.Source()) != b.hop {
		b.ep.dropStray(res, "2xx to a recall from elsewhere")
		return
	}
	if ack != nil && sameTag(ack.To(), res.To()) {
		b.ep.client.WriteRequest(ack)
		return
	}
	b.ep.hangUpLate(b.invite, res, "answered elsewhere")
}

func sameTag(a, b *sip.ToHeader) bool {
	if a == nil || b == nil {
		return false
	}
	ta, _ := a.Params.Get("tag")
	tb, _ := b.Params.Get("tag")
	return ta == tb
}
