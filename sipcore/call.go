package sipcore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore/media"
)

// EndReason says why a call ended.
type EndReason string

const (
	EndRemoteBye  EndReason = "remote hung up"
	EndLocal      EndReason = "hung up by parkd"
	EndRTPTimeout EndReason = "no RTP"
	EndNoAck      EndReason = "no ACK for 200"
)

// Call is an answered call leg: parkd is the UAS of its dialog, or the UAC
// for a call it placed (Endpoint.Originate).
type Call struct {
	ep     *Endpoint
	ID     DialogID
	Remote Party // the caller (From of the INVITE)
	Target string
	log    atomic.Pointer[slog.Logger]

	media *media.Session

	mu sync.Mutex // serialises the dialog's requests: sipgo runs each in its own goroutine
	dialogPeer
	ended      bool
	done       chan struct{}
	remoteCSeq uint32
	direction  Direction
	sdp        LocalDescription
	lastAnswer []byte
	pendingAck map[uint32]*ackWait // INVITE CSeq -> the 200 waiting for its ACK
	lateOffer  bool                // our last 200 carried the offer: the ACK has the answer
	outbound   bool                // parkd placed the call
	ack        *sip.Request        // outbound: the ACK of the 200, resent if the 200 is

	// confirmed is closed by the ACK of the 200 that answered the call:
	// only then does parkd know the caller has the dialog (RFC 3261 §13.3.1.4).
	confirmed  chan struct{}
	inviteCSeq uint32
	// released is closed once the handler's CallEnded has returned, so
	// Shutdown knows parkd has freed the call's slot and published it.
	released chan struct{}

	// An answered call counts against its source's unACKed calls until
	// the ACK or its end (see unconfirmedCalls).
	unconfirmedFrom netip.Addr
	holdsPlace      bool
	unconfirmedOnce sync.Once

	endReason EndReason // set before done is closed

	refer  *Refer // the REFER whose transfer is not finished yet: another gets 491
	refers int    // REFERs accepted for the handler so far, for the NOTIFYs' Event id
}

// Ended says why the call ended; it is "" until Done is closed.
func (c *Call) Ended() EndReason {
	select {
	case <-c.done:
		return c.endReason
	default:
		return ""
	}
}

func newCall(ep *Endpoint, inv *Invite, sess *media.Session) *Call {
	req := inv.req
	remoteTag, _ := req.From().Params.Get("tag")
	c := &Call{
		ep:         ep,
		ID:         DialogID{CallID: inv.CallID, LocalTag: inv.localTag, RemoteTag: remoteTag},
		Remote:     inv.From,
		Target:     inv.Target,
		media:      sess,
		dialogPeer: newUASPeer(req, inv.localTag),
		done:       make(chan struct{}),
		confirmed:  make(chan struct{}),
		inviteCSeq: req.CSeq().SeqNo,
		released:   make(chan struct{}),
		remoteCSeq: req.CSeq().SeqNo,
		direction:  SendRecv,
		pendingAck: map[uint32]*ackWait{},
		sdp: LocalDescription{
			SessionID: randomSessionID(),
			Version:   randomSessionID() & 0xffff,
			Address:   ep.mediaAddress(sess.LocalAddr().Addr()),
			Port:      sess.LocalAddr().Port(),
		},
	}
	c.log.Store(inv.Log)
	return c
}

// Logger is the call's logger; parkd adds the slot to it with SetLogger.
func (c *Call) Logger() *slog.Logger { return c.log.Load() }

// SetLogger replaces the call's logger, e.g. with one that names the slot.
func (c *Call) SetLogger(l *slog.Logger) { c.log.Store(l) }

// Media is the call's RTP session: parkd plays music to it or bridges it.
func (c *Call) Media() *media.Session { return c.media }

// Done is closed when the call has ended.
func (c *Call) Done() <-chan struct{} { return c.done }

// Confirmed is closed when the caller has ACKed the 200 that answered the
// call. A call parkd placed is confirmed from the start (parkd sent the ACK).
func (c *Call) Confirmed() <-chan struct{} { return c.confirmed }

// answerBody applies a peer's offer (nil: none, we offer) and returns our SDP.
// Callers hold c.mu or own the call exclusively.
func (c *Call) answerBody(offer *Offer) ([]byte, error) {
	if offer == nil {
		c.lateOffer = true
		return c.sdp.Offer()
	}
	c.lateOffer = false
	c.applyRemote(offer)
	body, err := c.sdp.Answer(offer)
	if err != nil {
		return nil, err
	}
	if c.lastAnswer != nil && !bytes.Equal(body, c.lastAnswer) {
		// RFC 4566: the version changes only when the session does.
		c.sdp.Version++
		if body, err = c.sdp.Answer(offer); err != nil {
			return nil, err
		}
	}
	c.lastAnswer = body
	return body, nil
}

func (c *Call) applyRemote(offer *Offer) {
	c.direction = offer.Direction
	c.media.SetRemote(offer.Remote, offer.Format)
	c.media.SetSending(!offer.OnHold())
	if offer.Direction.PeerSends() {
		c.media.ResetTimeout()
	}
}

// onRTPTimeout hangs up a call whose peer promised media and sent none; a
// peer that holds us with sendonly/inactive is allowed to stay silent.
func (c *Call) onRTPTimeout() {
	c.mu.Lock()
	silentByRight := !c.direction.PeerSends()
	c.mu.Unlock()
	if silentByRight {
		c.media.ResetTimeout()
		return
	}
	c.Logger().Warn("no RTP from the caller: hanging up", "timeout", c.ep.live().RTPTimeout)
	c.hangup(context.Background(), EndRTPTimeout, CauseTimerExpiry, "RTP timeout")
}

func (c *Call) handleAck(req *sip.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ackArrivedLocked(req.CSeq().SeqNo) {
		return // a retransmitted or reordered ACK
	}
	if c.lateOffer && len(req.Body()) > 0 {
		answer, err := ParseOffer(req.Body())
		if err != nil {
			c.Logger().Warn("ACK carried an unusable SDP answer", "error", err)
			return
		}
		c.applyRemote(answer)
		c.lateOffer = false
	}
}

// handleRequest serves one in-dialog request.
func (c *Call) handleRequest(req *sip.Request, tx sip.ServerTransaction) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		// A copy of the BYE the read loop took (bye_raw.go), read by
		// sipgo while the read loop's BYE was ending the call, gets that
		// BYE's 200.
		if req.Method == sip.BYE && c.ep.answerEndedBye(req, tx) {
			return
		}
		c.ep.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	cseq := req.CSeq().SeqNo
	if cseq <= c.remoteCSeq && req.Method != sip.ACK {
		c.mu.Unlock()
		c.ep.respond(tx, req, 500, "Server Internal Error", sip.NewHeader("Warning", `399 parkd "CSeq out of order"`))
		return
	}
	c.remoteCSeq = cseq
	switch req.Method {
	case sip.BYE:
		c.endAckWaitsLocked() // no copy of our 200 after the 200 to the BYE
		c.mu.Unlock()
		c.ep.respond(tx, req, 200, "OK")
		c.ep.byeAnswered(c.ID, req, tx)
		// Which party that is (caller, retriever…) only the handler knows:
		// it says so in CallEnded.
		c.Logger().Debug("BYE received: the remote party hung up")
		c.end(EndRemoteBye)
		return
	case sip.INVITE, sip.UPDATE:
		c.offerAnswer(req, tx)
	case sip.REFER:
		r := c.onRefer(req, tx)
		c.mu.Unlock()
		if r != nil {
			c.ep.serveRefer(r) // the handler answers without c.mu
		}
		return
	default: // INFO, OPTIONS
		c.ep.respond(tx, req, 200, "OK")
	}
	c.mu.Unlock()
}

// offerAnswer serves a re-INVITE or UPDATE: hold, unhold, session refresh.
// A bad offer is refused and the call keeps its current media.
func (c *Call) offerAnswer(req *sip.Request, tx sip.ServerTransaction) {
	var offer *Offer
	if len(req.Body()) > 0 {
		var err error
		offer, err = ParseOffer(req.Body())
		if errors.Is(err, ErrNoCommonCodec) {
			c.ep.respond(tx, req, 488, "Not Acceptable Here", sip.NewHeader("Warning", `305 parkd "no common codec"`))
			return
		}
		if err != nil {
			c.ep.respond(tx, req, 400, "Bad Request", sip.NewHeader("Warning", fmt.Sprintf("399 parkd %q", err.Error())))
			return
		}
	} else if req.Method == sip.UPDATE {
		c.ep.respond(tx, req, 200, "OK")
		return
	}
	if contact := req.Contact(); contact != nil {
		c.remoteTarget = contact.Address // a target refresh (RFC 3261 §12.2.2)
	}
	if offer != nil {
		// The peer may have moved (a new NAT binding): its RTP now comes
		// from where this offer did.
		c.ep.latchMedia(c.media, req.MessageData.Source())
	}
	body, err := c.answerBody(offer)
	if err != nil {
		c.ep.respond(tx, req, 500, "Server Internal Error")
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	res.AppendHeader(c.ep.contact(c.transport))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	var ack *ackWait
	cseq := req.CSeq().SeqNo
	if req.Method == sip.INVITE {
		ack = c.expectAck(cseq)
	}
	if err := c.ep.reply(tx, req, res); err != nil {
		delete(c.pendingAck, cseq)
		c.Logger().Warn("answering in-dialog offer failed", "method", req.Method, "error", err)
		return
	}
	c.Logger().Info("media renegotiated", "method", req.Method, "direction", c.direction,
		"codec", c.media.Format().Codec, "remote", c.media.Remote())
	if ack != nil {
		c.retransmitUntilAck(res, tx, ack)
	}
}

// Hangup ends the call from parkd's side with a BYE whose Reason gives
// Q.850 cause 16 (normal call clearing) and why. It returns once the BYE
// is answered or ctx ends.
func (c *Call) Hangup(ctx context.Context, why string) {
	c.hangup(ctx, EndLocal, CauseNormalClearing, why)
}

// HangupCause is Hangup with another Q.850 cause.
func (c *Call) HangupCause(ctx context.Context, cause Cause, why string) {
	c.hangup(ctx, EndLocal, cause, why)
}

func (c *Call) hangup(ctx context.Context, reason EndReason, cause Cause, why string) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.markEndedLocked()
	bye := c.byeRequest(cause, why)
	dest, udp := c.dialogPeer.udpDestination()
	udp = udp && c.transport == "udp"
	c.mu.Unlock()
	c.media.Close()
	c.ep.dialogs.remove(c)
	var status int
	var err error
	if udp {
		status, err = c.ep.sendBye(ctx, bye, dest)
	} else {
		status, err = c.ep.request(ctx, bye)
	}
	switch {
	case err != nil:
		c.Logger().Warn("BYE not answered", "error", err)
	case status == 0 && c.ep.draining.Load():
		c.Logger().Warn("BYE not answered before parkd stopped")
	case status == 0:
		c.Logger().Warn("BYE not answered", "timeout", c.ep.notifier.byeTimeout())
	case status >= 300:
		c.Logger().Info("BYE answered", "status", status)
	}
	c.Logger().Info("call hung up by parkd", "why", why)
	c.finish(reason)
}

// request sends req through a sipgo client transaction and returns its
// final status, 0 when the transaction ended without one.
func (ep *Endpoint) request(ctx context.Context, req *sip.Request) (int, error) {
	res, err := ep.client.Do(ctx, req)
	if err != nil || res == nil { // sipgo ends the transaction without an error when parkd shuts down
		return 0, err
	}
	return res.StatusCode, nil
}

// end closes a call the peer ended (no BYE from us).
func (c *Call) end(reason EndReason) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.markEndedLocked()
	c.mu.Unlock()
	c.media.Close()
	c.ep.dialogs.remove(c)
	c.finish(reason)
}

// markEndedLocked marks the call ended, counted as ending until finish
// reports it, and stops what waits for an ACK: the call is over, and its
// 200 is not resent beside the BYE. c.mu held.
func (c *Call) markEndedLocked() {
	c.ended = true
	c.ep.ending.Add(1)
	c.endAckWaitsLocked()
}

func (c *Call) finish(reason EndReason) {
	c.releaseUnconfirmed()
	c.endReason = reason
	close(c.done)
	// Even when CallEnded panics (and survive logs it): shutdown waits
	// for every call's end to be reported.
	defer func() {
		close(c.released)
		c.ep.ending.Add(-1)
	}()
	c.ep.handler.CallEnded(c, reason)
}

// byeRequest builds an in-dialog BYE; callers hold c.mu.
func (c *Call) byeRequest(cause Cause, why string) *sip.Request {
	req := c.newRequest(c.ep, sip.BYE)
	req.AppendHeader(reasonHeader(cause, why))
	return req
}

// releaseUnconfirmed gives back the call's place among its source's
// answered-but-unACKed calls, once: at the ACK, or at the end of a call
// that never got one.
func (c *Call) releaseUnconfirmed() {
	c.unconfirmedOnce.Do(func() {
		if c.holdsPlace {
			c.ep.unconfirmed.release(c.unconfirmedFrom)
		}
	})
}

// SourceIP is the address the call's signalling comes from: where its
// INVITE came from, or, for a call parkd placed, where the 200 came from.
// It never changes, so it tells whether two calls come from one phone.
func (c *Call) SourceIP() netip.Addr { return signallingIP(c.source) }
