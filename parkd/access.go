package parkd

import (
	"log/slog"
	"net/netip"
	"path"
	"strings"

	"github.com/parkd/parkd/sipcore"
)

// Who may take a parked call. sipcore tells who sent a request (digest
// user, a trusted PBX's asserted user, or only a From header); this file
// decides what that identity may do in a lot.

// mayRetrieve reports whether id may retrieve or pick up the calls of
// lot l: anyone when its retrieve_allow is empty, else those it names.
// Parking is never restricted.
func mayRetrieve(l *lot, id sipcore.Identity) bool {
	if len(l.cfg.RetrieveAllow) == 0 {
		return true
	}
	for _, p := range l.cfg.RetrieveAllow {
		if matchRetrievePattern(p, id) {
			return true
		}
	}
	return false
}

// matchRetrievePattern matches one retrieve_allow entry: a SIP URI
// pattern ("sip:2*@pbx.example.com") against "sip:user@host", anything
// else (a name, or a name pattern like "2*") against the user.
func matchRetrievePattern(pattern string, id sipcore.Identity) bool {
	if id.User == "" {
		return false
	}
	subject := id.User
	if strings.HasPrefix(pattern, "sip:") || strings.HasPrefix(pattern, "sips:") {
		subject = id.URI
	}
	ok, err := path.Match(pattern, subject)
	return err == nil && ok
}

// restricted reports whether lot l shows some BLF watchers less than
// everything: when its retrieve_allow is set. With it empty, parkd keeps
// its old behaviour (full bodies for anyone sip.allow lets in) so existing
// phones keep picking up; with sip.auth on that is no weaker, since every
// watcher is then trusted or authenticated.
func (s *Server) restricted(l *lot) bool {
	return len(l.cfg.RetrieveAllow) > 0
}

// mayWatchDetail reports whether a BLF watcher may see the parked call's
// dialog identifiers (what a Replaces pickup needs) and who is waiting in
// lot l: in a restricted lot only a trusted or authenticated watcher that
// may retrieve there (a From header alone does not count, whatever it says).
func (s *Server) mayWatchDetail(l *lot, id sipcore.Identity) bool {
	if !s.restricted(l) {
		return true
	}
	return id.Verified() && mayRetrieve(l, id)
}

// warnExposure says at start what an admin may not have meant: SIP open
// beyond this machine with nothing but sip.allow between a caller and the
// parked calls, or retrieve_allow trusting From headers anyone can write.
func warnExposure(log *slog.Logger, cfg Config, addrs []sipcore.ListenAddr, authOn bool) {
	if authOn {
		return
	}
	if exposed := beyondLoopback(addrs); exposed != "" {
		log.Warn("SIP listens beyond loopback without sip.auth: anyone in sip.allow can retrieve parked calls and see who is waiting; configure sip.auth users and sip.trusted for the PBX",
			"listener", exposed, "allow", cfg.SIP.Allow)
	}
	for _, lc := range cfg.Lots {
		if len(lc.RetrieveAllow) > 0 {
			log.Warn("retrieve_allow without sip.auth matches the From header, which any caller can forge outside sip.trusted", "lot", lc.Name)
		}
	}
}

// beyondLoopback names the first listener reachable from other hosts, or "".
func beyondLoopback(addrs []sipcore.ListenAddr) string {
	for _, a := range addrs {
		ap, err := netip.ParseAddrPort(a.Addr)
		if err != nil || !ap.Addr().Unmap().IsLoopback() {
			return a.String()
		}
	}
	return ""
}
