package parkd

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/parkd/config"
	"github.com/parkd/parkd/sipcore"
)

// ParkerFromAPI is CallView.ParkerFrom for a parker named through the API.
const ParkerFromAPI = "api"

// parkerOf works out who parked a call, for its recall: Referred-By (a
// blind transfer, RFC 3892), else the first of sip.parker_headers that
// names someone. The caller itself is never taken for the parker: ringing
// a parked caller back to its own phone helps nobody, and a PBX that
// forwards a call here without saying who sent it would otherwise have
// the recall ring the outside caller.
//
// An identity that is parkd's own address (a PBX that puts its park
// target in Referred-By, or a phone on parkd's host naming no port) is
// no parker: a recall to it would come straight back into parkd.
func (s *Server) parkerOf(inv *sipcore.Invite) (sipcore.Party, string) {
	if inv.ReferredBy != nil && s.notSelf(inv, *inv.ReferredBy, "Referred-By") {
		return *inv.ReferredBy, "Referred-By"
	}
	for _, name := range s.config().SIP.ParkerHeaders {
		values := inv.Headers(name)
		if strings.EqualFold(name, "History-Info") && len(values) > 1 {
			// History-Info lists each hop's target in order, parkd's own
			// last: the one before it is whoever sent the call here.
			values = []string{values[len(values)-2]}
		}
		for _, v := range values {
			if p, ok := sipcore.ParseNameAddr(v); ok && s.notSelf(inv, p, name) {
				return p, name
			}
		}
	}
	return sipcore.Party{}, ""
}

// notSelf is false, and says so in the log, for a parker that is parkd.
func (s *Server) notSelf(inv *sipcore.Invite, p sipcore.Party, header string) bool {
	if !s.isOwnAddress(p.URI) {
		return true
	}
	inv.Log.Info("parker header names parkd itself: not taken as the parker", "header", header, "uri", p.URI)
	return false
}

// SetParker names who parked the call in slot, for callers that know
// better than the SIP headers did (the API, the console): its recall then
// rings uri. It fails when the slot holds no call or uri is not a SIP URI.
func (s *Server) SetParker(slot string, p Party) error {
	if err := config.CheckSIPURI(p.URI); err != nil {
		return &PolicyError{Key: "parker", Msg: err.Error()}
	}
	parker, ok := sipcore.ParseNameAddr(p.URI)
	if !ok {
		return &PolicyError{Key: "parker", Msg: fmt.Sprintf("%q is not a SIP URI", p.URI)}
	}
	parker.Display = p.Display
	if s.isOwnAddress(parker.URI) {
		return &PolicyError{Key: "parker", Msg: fmt.Sprintf("%q is parkd's own address: a recall there would come straight back", p.URI)}
	}
	if err := config.CheckText(p.Display); err != nil {
		return &PolicyError{Key: "parker.display", Msg: err.Error()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sl, ok := s.bySlot[slot]
	if !ok {
		return fmt.Errorf("no slot %q", slot)
	}
	pc := sl.parked
	if pc == nil {
		return fmt.Errorf("slot %s holds no call", slot)
	}
	pc.parker = parker
	pc.parkerFrom = ParkerFromAPI
	pc.parkerUnresolvable = false
	pc.call.Logger().Info("parker named", "parker", p.URI, "parker_from", ParkerFromAPI)
	s.emit(EventParker, sl, pc, p.URI)
	return nil
}

// unresolvableParker reports whether a recall to p would need parkd to
// look up a host name that only an untrusted message gave it. parkd
// resolves names it was configured with or told by a trusted or
// authenticated source; anything else could aim its DNS queries, and its
// recall INVITEs, wherever a stranger likes. With sip.outbound_proxy set
// the recall goes to the proxy and the name is never looked up here.
func (s *Server) unresolvableParker(inv *sipcore.Invite, p sipcore.Party) bool {
	return s.unresolvableName(inv.Identity.Verified(), p)
}

// unresolvableName is unresolvableParker for a party a source named that
// is verified (trusted or authenticated) or not.
func (s *Server) unresolvableName(verified bool, p sipcore.Party) bool {
	if verified || s.config().SIP.OutboundProxy != "" {
		return false
	}
	var u sip.Uri
	if err := sip.ParseUri(p.URI, &u); err != nil {
		return true
	}
	_, err := netip.ParseAddr(strings.Trim(u.Host, "[]"))
	return err != nil
}
