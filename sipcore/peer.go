package sipcore

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// dialogPeer is what any dialog where parkd is the UAS (a call, a
// subscription) needs to send requests to the far end: RFC 3261 §12.1.1.
type dialogPeer struct {
	callID       string
	local        sip.FromHeader // our side, with our tag
	remote       sip.ToHeader   // the peer's side, with its tag
	remoteTarget sip.Uri
	routeSet     []string
	localCSeq    uint32
	transport    string // "udp" or "tcp"
	source       string // where the dialog's first request came from
}

// newUASPeer builds the peer of a dialog created by req; localTag is the
// tag parkd put in its response's To.
func newUASPeer(req *sip.Request, localTag string) dialogPeer {
	p := dialogPeer{
		callID:    callID(req),
		remote:    req.From().AsTo(),
		localCSeq: uint32(randomSessionID() & 0x7fff),
		transport: strings.ToLower(req.Transport()),
		source:    req.Source(),
	}
	p.local = req.To().AsFrom()
	if !p.local.Params.Has("tag") {
		p.local.Params.Add("tag", localTag)
	}
	p.remoteTarget = req.From().Address
	if contact := req.Contact(); contact != nil {
		p.remoteTarget = contact.Address
	}
	for _, rr := range req.GetHeaders("Record-Route") {
		p.routeSet = append(p.routeSet, rr.Value())
	}
	return p
}

// newRequest builds a request inside the dialog: Request-URI the remote
// target, Route from the Record-Route set, our own CSeq. Callers serialise
// access to p.
func (p *dialogPeer) newRequest(ep *Endpoint, method sip.RequestMethod) *sip.Request {
	p.localCSeq++
	return p.request(ep, method, p.localCSeq)
}

// request builds an in-dialog request with a given CSeq: an ACK for a 2xx
// carries the INVITE's.
func (p *dialogPeer) request(ep *Endpoint, method sip.RequestMethod, cseq uint32) *sip.Request {
	req := sip.NewRequest(method, p.remoteTarget)
	from := p.local
	to := p.remote
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	cid := sip.CallIDHeader(p.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	for _, r := range p.routeSet {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
	req.AppendHeader(ep.contact(p.transport))
	req.SetTransport(strings.ToUpper(p.transport))
	if p.transport == "tcp" {
		// Reuse the connection the dialog came in on: the phone may not accept new ones.
		req.SetDestination(p.source)
	} else {
		if l, ok := ep.listenerFor("udp"); ok {
			req.Laddr = sip.Addr{IP: l.addr.Addr().AsSlice(), Port: int(l.addr.Port())}
		}
		if !isIPHost(p.nextHopHost()) {
			// The name came in a message (Contact, Record-Route): parkd
			// does not resolve it, and sends where the dialog came from.
			req.SetDestination(p.source)
		}
	}
	return req
}

// nextHopHost is the host a request in the dialog goes to: the first route
// (loose routing), else the remote target.
func (p *dialogPeer) nextHopHost() string {
	if len(p.routeSet) > 0 {
		var uri sip.Uri
		var params sip.HeaderParams
		if _, err := sip.ParseAddressValue(p.routeSet[0], &uri, &params); err != nil {
			return "" // unparseable: treated as a name, never resolved
		}
		return uri.Host
	}
	return p.remoteTarget.Host
}
