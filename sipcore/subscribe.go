package sipcore

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// SubscribeRequest is a new SUBSCRIBE for parkd to resolve to a resource.
type SubscribeRequest struct {
	Event    string // EventDialog or EventPresence
	Target   string // the Request-URI user: the slot or lot subscribed to
	From     Party
	Source   string
	Identity Identity // who subscribes: see Identity
	Log      *slog.Logger
}

// onSubscribe serves SUBSCRIBE: a new subscription, or a refresh or
// unsubscribe inside an existing one (RFC 6665 §4.2.1).
func (ep *Endpoint) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	if hasToTag(req) {
		ep.refreshSubscription(req, tx)
		return
	}
	log := ep.log.With("call_id", callID(req))
	if ep.draining.Load() {
		ep.respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", "30"),
			sip.NewHeader("Warning", `399 parkd "shutting down"`))
		return
	}
	id, ok := ep.identify(req, tx)
	if !ok {
		return
	}
	pkg, eventHdr := parseEvent(req)
	if pkg != EventDialog && pkg != EventPresence {
		ep.logRefused(req, "SUBSCRIBE for an event package parkd does not serve", "event", eventHdr)
		ep.respond(tx, req, 489, "Bad Event", sip.NewHeader("Allow-Events", allowEvents))
		return
	}
	if !accepts(req, bodyType(pkg)) {
		ep.respond(tx, req, 406, "Not Acceptable", sip.NewHeader("Accept", bodyType(pkg)),
			sip.NewHeader("Warning", fmt.Sprintf(`399 parkd "event %s is only sent as %s"`, pkg, bodyType(pkg))))
		return
	}
	if req.Contact() == nil {
		ep.respond(tx, req, 400, "Bad Request", sip.NewHeader("Warning", `399 parkd "SUBSCRIBE needs a Contact"`))
		return
	}
	expires, ok := ep.grantedExpires(req, tx)
	if !ok {
		return
	}
	sr := &SubscribeRequest{Event: pkg, Target: req.Recipient.User, Source: req.Source(), Identity: id, Log: log}
	if from := req.From(); from != nil {
		sr.From = party(from.DisplayName, from.Address)
	}
	resource, found := ep.handler.ResolveSubscription(sr)
	if !found {
		log.Info("SUBSCRIBE to an unknown entity", "target", sr.Target, "event", pkg)
		ep.respond(tx, req, 404, "Not Found", sip.NewHeader("Warning", fmt.Sprintf(`399 parkd "no slot or lot %q"`, sr.Target)))
		return
	}

	localTag := sip.GenerateTagN(16)
	s := &Subscription{
		ep: ep, Event: pkg, Resource: resource, Source: req.Source(), sourceIP: hostOf(req.Source()),
		eventHdr: eventHdr, dialogPeer: newUASPeer(req, localTag), remoteCSeq: req.CSeq().SeqNo,
		finished: make(chan struct{}),
	}
	remoteTag, _ := req.From().Params.Get("tag")
	s.ID = DialogID{CallID: callID(req), LocalTag: localTag, RemoteTag: remoteTag}
	s.log = log.With("resource", resource, "event", pkg)

	if expires == 0 {
		ep.fetch(s, req, tx)
		return
	}
	s.mu.Lock() // no NOTIFY before the 200 is on its way
	defer s.mu.Unlock()
	if err := ep.subs.add(s, ep.live().Subscriptions); err != nil {
		s.log.Warn("SUBSCRIBE refused", "source", s.Source, "why", err)
		ep.respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", "60"),
			sip.NewHeader("Warning", fmt.Sprintf("399 parkd %q", err.Error())))
		return
	}
	s.extendLocked(expires)
	ep.reply(tx, req, s.okResponse(req, expires))
	s.log.Info("subscription created", "from", sr.From.URI, "source", s.Source, "expires", expires)
	s.flushLocked(nil, nil)
	go ep.handler.SubscriptionsChanged(resource)
}

// fetch answers a SUBSCRIBE with Expires: 0: one NOTIFY with the current
// state, and no subscription kept (RFC 6665 §4.4.3).
func (ep *Endpoint) fetch(s *Subscription, req *sip.Request, tx sip.ServerTransaction) {
	body, ok := ep.subs.current(s.Resource, s.Event)
	if !ok {
		ep.respond(tx, req, 503, "Service Unavailable", sip.NewHeader("Retry-After", "5"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.final = body, stateTimeout
	ep.reply(tx, req, s.okResponse(req, 0))
	s.log.Info("state fetched")
	s.flushLocked(nil, nil)
}

// refreshSubscription serves a SUBSCRIBE inside a subscription dialog:
// a refresh extends it, Expires: 0 ends it with a final NOTIFY.
func (ep *Endpoint) refreshSubscription(req *sip.Request, tx sip.ServerTransaction) {
	id, _ := requestDialogID(req) // guard() has checked From, To and Call-ID
	s := ep.subs.get(id)
	if s == nil || s.ended() {
		ep.respond(tx, req, 481, "Subscription Does Not Exist")
		return
	}
	if pkg, _ := parseEvent(req); pkg != s.Event {
		ep.respond(tx, req, 489, "Bad Event", sip.NewHeader("Allow-Events", s.Event))
		return
	}
	expires, ok := ep.grantedExpires(req, tx)
	if !ok {
		return
	}
	s.mu.Lock()
	if cseq := req.CSeq().SeqNo; cseq <= s.remoteCSeq {
		s.mu.Unlock()
		ep.respond(tx, req, 500, "Server Internal Error", sip.NewHeader("Warning", `399 parkd "CSeq out of order"`))
		return
	}
	s.remoteCSeq = req.CSeq().SeqNo
	if contact := req.Contact(); contact != nil {
		s.remoteTarget = contact.Address // a target refresh (RFC 6665 §4.1.2.1)
		s.head = nil                     // NOTIFYs go there from now on
	}
	if expires == 0 {
		s.mu.Unlock()
		s.log.Info("unsubscribed")
		// Unregistered before the 200, so a SUBSCRIBE sent right after it
		// finds the limits freed.
		if s.end(stateTimeout) {
			ep.reply(tx, req, s.okResponse(req, 0))
			s.sendFinal()
		} else {
			ep.respond(tx, req, 481, "Subscription Does Not Exist")
		}
		return
	}
	ep.reply(tx, req, s.okResponse(req, expires))
	s.extendLocked(expires)
	s.flushLocked(nil, nil) // RFC 6665 §4.2.1.2: a refresh gets a NOTIFY
	s.mu.Unlock()
	s.log.Debug("subscription refreshed", "expires", expires)
}

func (s *Subscription) okResponse(req *sip.Request, expires time.Duration) *sip.Response {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.To().Params.Add("tag", s.ID.LocalTag) // replaces the one sipgo invents for a 2xx
	res.AppendHeader(s.ep.contact(s.transport))
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	return res
}

// grantedExpires reads the Expires asked for and applies the configured
// bounds; false when it already answered (400 or 423).
func (ep *Endpoint) grantedExpires(req *sip.Request, tx sip.ServerTransaction) (time.Duration, bool) {
	limits := ep.live().Subscriptions
	h := req.GetHeader("Expires")
	if h == nil {
		return limits.DefaultExpires, true
	}
	secs, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
	if err != nil {
		ep.respond(tx, req, 400, "Bad Request", sip.NewHeader("Warning", fmt.Sprintf(`399 parkd "Expires %q is not a number of seconds"`, h.Value())))
		return 0, false
	}
	asked := time.Duration(secs) * time.Second
	switch {
	case asked == 0:
		return 0, true
	case asked < limits.MinExpires:
		ep.respond(tx, req, 423, "Interval Too Brief",
			sip.NewHeader("Min-Expires", strconv.Itoa(int(limits.MinExpires.Round(time.Second)/time.Second))))
		return 0, false
	}
	return min(asked, limits.MaxExpires), true
}

// parseEvent returns the event package of a request and the Event value
// its NOTIFYs must carry: the package and its id parameter (RFC 6665 §8.2.1).
func parseEvent(req *sip.Request) (pkg, header string) {
	h := req.GetHeader("Event")
	if h == nil {
		h = req.GetHeader("o")
	}
	if h == nil {
		return "", ""
	}
	parts := strings.Split(h.Value(), ";")
	pkg = strings.ToLower(strings.TrimSpace(parts[0]))
	header = pkg
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "id") {
			header += ";id=" + v
		}
	}
	return pkg, header
}

// accepts reports whether the SUBSCRIBE's Accept allows contentType; no
// Accept means the package's default type (RFC 6665 §4.1.2).
func accepts(req *sip.Request, contentType string) bool {
	hs := req.GetHeaders("Accept")
	if len(hs) == 0 {
		return true
	}
	for _, h := range hs {
		for _, item := range strings.Split(h.Value(), ",") {
			mt, _, _ := strings.Cut(item, ";")
			mt = strings.ToLower(strings.TrimSpace(mt))
			if mt == contentType || mt == "*/*" || mt == "application/*" || mt == "" {
				return true
			}
		}
	}
	return false
}

// endSubscriptions sends every subscriber a final NOTIFY, so phones come
// back after a restart instead of waiting out their Expires, and waits for
// the answers until ctx ends.
func (ep *Endpoint) endSubscriptions(done <-chan struct{}) error {
	subs := ep.subs.all()
	for _, s := range subs {
		s.terminate(stateShutdown)
	}
	for _, s := range subs {
		select {
		case <-s.finished:
		case <-done:
			return errors.New("some final NOTIFYs were not answered in time")
		}
	}
	return nil
}
