package sipcore

import (
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A 2xx that matches no transaction of parkd is either the late answer of
// a recall INVITE parkd sent (one fork answered after our CANCEL, or
// after the transaction ended), which must be ACKed and hung up, or
// anybody's packet, which must cost nothing: ACKing or BYEing it would make
// parkd send packets, and resolve names, wherever its Contact says.

// lateAnswerWindow is how long parkd recognises late answers to an INVITE
// it sent: longer than a proxy's Timer C (3 min) lets a fork ring.
const lateAnswerWindow = 5 * time.Minute

// maxSentInvites bounds the INVITEs remembered; recalls are few, and the
// oldest is forgotten first.
const maxSentInvites = 4096

type sentKey struct{ callID, fromTag string }

type sentInvite struct {
	key    sentKey
	invite *sip.Request
	hop    netip.Addr // where it was sent: its answers come from there
	at     time.Time
}

// sentInvites remembers the INVITEs parkd sent, by Call-ID and our From
// tag, for lateAnswerWindow.
type sentInvites struct {
	mu    sync.Mutex
	byKey map[sentKey]*sentInvite
	order []*sentInvite // oldest first
}

func (s *sentInvites) add(invite *sip.Request, hop netip.Addr, now time.Time) {
	tag, _ := invite.From().Params.Get("tag")
	e := &sentInvite{key: sentKey{callID(invite), tag}, invite: invite, hop: hop.Unmap(), at: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKey == nil {
		s.byKey = map[sentKey]*sentInvite{}
	}
	s.expireLocked(now)
	for len(s.order) >= maxSentInvites {
		s.dropOldestLocked()
	}
	s.byKey[e.key] = e
	s.order = append(s.order, e)
}

// match returns the INVITE a 2xx answers when parkd sent it, recently, to
// the address the 2xx came from.
func (s *sentInvites) match(res *sip.Response, from netip.Addr, now time.Time) (*sip.Request, bool) {
	tag, _ := res.From().Params.Get("tag")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now)
	e, ok := s.byKey[sentKey{callID(res), tag}]
	if !ok || e.hop != from.Unmap() {
		return nil, false
	}
	return e.invite, true
}

func (s *sentInvites) expireLocked(now time.Time) {
	for len(s.order) > 0 && now.Sub(s.order[0].at) > lateAnswerWindow {
		s.dropOldestLocked()
	}
}

func (s *sentInvites) dropOldestLocked() {
	e := s.order[0]
	s.order[0] = nil
	s.order = s.order[1:]
	if s.byKey[e.key] == e {
		delete(s.byKey, e.key)
	}
}

func (s *sentInvites) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byKey)
}

// unhandledResponse sees responses whose transaction is gone or never
// existed. A 200 resent for a call of ours is re-ACKed; the late 200 of an
// INVITE parkd sent is ACKed and hung up; everything else is dropped.
func (ep *Endpoint) unhandledResponse(res *sip.Response) {
	if ep.notifyResponse(res) {
		return
	}
	cseq := res.CSeq()
	if cseq == nil || cseq.MethodName != sip.INVITE || !res.IsSuccess() || res.From() == nil || res.To() == nil || res.CallID() == nil {
		ep.dropStray(res, "no transaction")
		return
	}
	src := sourceAddr(res.Source())
	if !src.IsValid() {
		ep.dropStray(res, "no source address")
		return
	}
	localTag, _ := res.From().Params.Get("tag")
	remoteTag, _ := res.To().Params.Get("tag")
	if c := ep.dialogs.get(DialogID{CallID: callID(res), LocalTag: localTag, RemoteTag: remoteTag}); c != nil {
		c.mu.Lock()
		ack, peer := c.ack, sourceAddr(c.source)
		c.mu.Unlock()
		if ack == nil || peer != src {
			ep.dropStray(res, "2xx for a call of parkd from elsewhere")
			return
		}
		ep.client.WriteRequest(ack)
		return
	}
	invite, ok := ep.sent.match(res, src, time.Now())
	if !ok {
		ep.dropStray(res, "2xx to no INVITE of parkd")
		return
	}
	ep.hangUpLate(invite, res, "answered too late")
}

// dropStray counts a response nobody asked for and logs it, once a minute
// at most.
func (ep *Endpoint) dropStray(res *sip.Response, why string) {
	ep.stats.strays.Add(1)
	if ok, held := ep.quiet.allow("strays " + sourceAddr(res.Source()).String()); ok {
		ep.log.Warn("dropped a response that matches nothing of parkd", "why", why,
			"status", res.StatusCode, "source", clip(res.Source()), "call_id", clip(callID(res)),
			"suppressed", held)
	}
}

// sourceAddr is the IP of a host:port; the zero Addr when it is not one.
func sourceAddr(hostport string) netip.Addr {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
