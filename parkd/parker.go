package parkd

import (
	"strings"

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
func (s *Server) parkerOf(inv *sipcore.Invite) (sipcore.Party, string) {
	if inv.ReferredBy != nil {
		return *inv.ReferredBy, "Referred-By"
	}
	for _, name := range s.cfg.SIP.ParkerHeaders {
		values := inv.Headers(name)
		if strings.EqualFold(name, "History-Info") && len(values) > 1 {
			// History-Info lists each hop's target in order, parkd's own
			// last: the one before it is whoever sent the call here.
			values = []string{values[len(values)-2]}
		}
		for _, v := range values {
			if p, ok := sipcore.ParseNameAddr(v); ok {
				return p, name
			}
		}
	}
	return sipcore.Party{}, ""
}
