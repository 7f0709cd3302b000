package parkd

import (
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// overdueLocked handles a recall that fell due with nobody to ring: no
// known parker and no ring group, under on_failure repark. Such a round
// rings nobody, so it is not counted against max_recalls and never hangs
// the caller up; the call stays parked, marked overdue (the event, the API
// and the BLF key show it) and logged once. The recall is looked at again
// every recall_after, quietly, so a parker named through the API or a
// ring group set live is rung then. Callers hold s.mu.
func (s *Server) overdueLocked(sl *slot, pc *callRecord, pol Policy) {
	s.armRecallLocked(sl, pc)
	pc.recallAt = time.Time{} // the next look rings nobody unless something changes: none is shown pending
	if pc.overdue {
		return
	}
	pc.overdue = true
	pc.call.Logger().Warn("recall due with nobody to ring: the call stays parked, overdue",
		"recall_to", *pol.RecallTo, "ring_group", len(pol.RingGroup), "on_failure", *pol.OnFailure)
	s.emit(EventOverdue, sl, pc, "nobody to ring: the parker is unknown and there is no ring group")
}

// recallParkerLocked is the parker a recall may ring: "" when unknown, or
// when it is parkd's own address (a recall there would come straight back
// in). Callers hold s.mu.
func (s *Server) recallParkerLocked(pc *callRecord) string {
	if uri := pc.parker.URI; uri != "" && !pc.parkerUnresolvable && !s.isOwnAddress(uri) {
		return uri
	}
	return ""
}

// isOwnAddress reports whether uri names parkd itself: its host is one of
// parkd's listener addresses (any local address for a wildcard listener)
// or sip.advertise, and it has no port or one of parkd's SIP ports. No
// name is resolved: a host name matches only as sip.advertise spells it.
func (s *Server) isOwnAddress(uri string) bool {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		return false
	}
	host := strings.Trim(u.Host, "[]")
	ip, ipErr := netip.ParseAddr(host)
	if ipErr == nil {
		ip = ip.Unmap()
	}
	ownPort := u.Port == 0
	ownHost := s.config().SIP.Advertise != "" && strings.EqualFold(host, strings.Trim(s.config().SIP.Advertise, "[]"))
	for _, l := range s.endpoint.Addrs() {
		ap, err := netip.ParseAddrPort(l.Addr)
		if err != nil {
			continue
		}
		if int(ap.Port()) == u.Port {
			ownPort = true
		}
		lip := ap.Addr().Unmap()
		switch {
		case ipErr != nil:
		case lip == ip:
			ownHost = true
		case lip.IsUnspecified() && isLocalIP(ip):
			ownHost = true
		}
	}
	return ownHost && ownPort
}

// isLocalIP reports whether ip is an address of this machine.
func isLocalIP(ip netip.Addr) bool {
	if ip.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if local, ok := netip.AddrFromSlice(n.IP); ok && local.Unmap() == ip {
				return true
			}
		}
	}
	return false
}
