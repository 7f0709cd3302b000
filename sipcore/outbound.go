package sipcore

import (
	"context"
	"log/slog"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore/media"
)

// uacPeer is the dialog a 2xx to our INVITE created (RFC 3261 §12.1.2):
// our From, the callee's To with its tag, its Contact as remote target and
// the Record-Route set reversed. invite may be nil for a 200 whose
// transaction is gone; the response then says all that is needed.
func uacPeer(invite *sip.Request, res *sip.Response) dialogPeer {
	local := *(sip.HeaderClone(res.From()).(*sip.FromHeader))
	p := dialogPeer{
		callID:    callID(res),
		local:     local,
		remote:    *(sip.HeaderClone(res.To()).(*sip.ToHeader)),
		localCSeq: res.CSeq().SeqNo,
		transport: strings.ToLower(res.Transport()),
		source:    res.Source(),
	}
	p.remoteTarget = res.To().Address
	if invite != nil {
		p.remoteTarget = invite.Recipient
		p.transport = strings.ToLower(invite.Transport())
		p.source = invite.Destination()
	}
	if contact := res.Contact(); contact != nil {
		p.remoteTarget = contact.Address
	}
	rr := res.GetHeaders("Record-Route")
	for i := len(rr) - 1; i >= 0; i-- {
		p.routeSet = append(p.routeSet, rr[i].Value())
	}
	if len(p.routeSet) == 0 && invite != nil {
		// The outbound proxy did not record-route: keep sending through it
		// (RFC 3261 §8.1.2 lets a UA use one for every request), since the
		// callee's Contact may be unreachable from here (NAT).
		for _, r := range invite.GetHeaders("Route") {
			p.routeSet = append(p.routeSet, r.Value())
		}
	}
	return p
}

// ackFor builds the ACK of a 2xx: a request of its own in the new dialog,
// with the INVITE's CSeq number.
func (ep *Endpoint) ackFor(invite *sip.Request, res *sip.Response) *sip.Request {
	p := uacPeer(invite, res)
	return p.request(ep, sip.ACK, res.CSeq().SeqNo)
}

// byeStray ACKs and hangs up a 200 nobody wants: a ring group member that
// answered after another, or after parkd stopped ringing (the CANCEL and the
// 200 crossed).
func (ep *Endpoint) byeStray(invite *sip.Request, res *sip.Response, why string) {
	p := uacPeer(invite, res)
	if err := ep.client.WriteRequest(p.request(ep, sip.ACK, res.CSeq().SeqNo)); err != nil {
		ep.log.Debug("ACK for a stray 200 not sent", "call_id", p.callID, "error", err)
	}
	cause := CauseNonSelectedUser
	if ep.draining.Load() {
		cause, why = CauseTemporaryFailure, "shutdown" // as every call gets at shutdown
	}
	bye := p.newRequest(ep, sip.BYE)
	bye.AppendHeader(reasonHeader(cause, why))
	ctx, cancel := context.WithTimeout(context.Background(), cancelTimeout)
	defer cancel()
	res, err := ep.client.Do(ctx, bye)
	switch {
	case err != nil:
		ep.log.Info("BYE for a stray 200 not answered", "call_id", p.callID, "error", err)
	case res == nil: // sipgo ends the transaction without an error when parkd shuts down
		ep.log.Info("BYE for a stray 200 not answered: its transaction ended", "call_id", p.callID)
	default:
		ep.log.Info("hung up a call answered too late", "call_id", p.callID, "why", why, "status", res.StatusCode)
	}
}

// newOutboundCall is the call an answered Originate branch became; parkd is
// the UAC of its dialog.
func newOutboundCall(ep *Endpoint, invite *sip.Request, res *sip.Response, sess *media.Session, desc LocalDescription, answer *Offer, log *slog.Logger) *Call {
	peer := uacPeer(invite, res)
	localTag, _ := invite.From().Params.Get("tag")
	remoteTag, _ := res.To().Params.Get("tag")
	c := &Call{
		ep:         ep,
		ID:         DialogID{CallID: peer.callID, LocalTag: localTag, RemoteTag: remoteTag},
		Remote:     party(res.To().DisplayName, res.To().Address),
		Target:     invite.Recipient.User,
		media:      sess,
		dialogPeer: peer,
		done:       make(chan struct{}),
		direction:  SendRecv,
		pendingAck: map[uint32]*ackWait{},
		sdp:        desc,
		outbound:   true,
	}
	c.confirmed, c.released = make(chan struct{}), make(chan struct{})
	close(c.confirmed) // parkd sent the ACK
	c.log.Store(log)
	// The answer's sender is the callee's side of the signalling (its
	// phone, or the proxy it answered through).
	ep.latchMedia(sess, res.Source())
	c.applyRemote(answer)
	return c
}
