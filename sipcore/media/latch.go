package media

import "net/netip"

// Latch says whose RTP a session accepts (rtp.latch). Packets from
// anywhere else are dropped and counted, never latched.
type Latch int

const (
	// LatchSignalling accepts the SDP address, and any port on the IP the
	// call's signalling came from (a caller behind NAT).
	LatchSignalling Latch = iota
	// LatchSDP accepts only the address in the SDP.
	LatchSDP
	// LatchAny latches on whatever sends first (trusted networks only).
	LatchAny
)

// ParseLatch reads the config spelling: sdp, signalling or any.
func ParseLatch(s string) (Latch, bool) {
	switch s {
	case "signalling", "":
		return LatchSignalling, true
	case "sdp":
		return LatchSDP, true
	case "any":
		return LatchAny, true
	}
	return 0, false
}

func (l Latch) String() string {
	switch l {
	case LatchSDP:
		return "sdp"
	case LatchAny:
		return "any"
	}
	return "signalling"
}

// sources is who may send RTP to a session: the peer's SDP IP and, in
// signalling mode, the IP its SIP came from. Ports are never checked: a
// phone often sends from another port than its SDP names, and a NAT picks
// the port anyway; the IP is what an intruder elsewhere cannot fake on a
// return path. It is a small value, compared on every packet without
// allocating.
type sources struct {
	latch      Latch
	sdp        netip.Addr // the last real IP the peer's SDP named; kept over c=0.0.0.0 hold
	signalling netip.Addr // only consulted in LatchSignalling; invalid means SDP-only
}

// allows reports whether a packet from ip may be taken in (and latched).
// A signalling mode with no signalling IP falls back to SDP-only, never to
// "anyone", and an SDP with no real IP lets no one in on its account.
func (s *sources) allows(ip netip.Addr) bool {
	switch {
	case s.latch == LatchAny:
		return true
	case s.sdp.IsValid() && ip == s.sdp:
		return true
	case s.latch == LatchSignalling && s.signalling.IsValid() && ip == s.signalling:
		return true
	}
	return false
}

// usableIP is an address worth allowing: set, and not 0.0.0.0 or ::.
func usableIP(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsUnspecified() {
		return netip.Addr{}
	}
	return ip
}
