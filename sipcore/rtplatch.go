package sipcore

import (
	"net/netip"

	"github.com/parkd/parkd/sipcore/media"
)

// latchMedia tells a call's RTP session whose packets it may take in
// (rtp.latch): the peer's SDP IP and, by default, the IP its SIP came from,
// which is where a caller behind NAT sends RTP from. source is the
// transport's own record of the sender, never a header: a Via or Contact is
// the peer's word, and the peer may be the intruder. An unreadable source
// leaves the session taking its SDP IP alone.
func (ep *Endpoint) latchMedia(sess *media.Session, source string) {
	sess.SetLatch(ep.live().RTPLatch, signallingIP(source))
}

// signallingIP reads the IP of a transport source "ip:port".
func signallingIP(source string) netip.Addr {
	ap, err := netip.ParseAddrPort(source)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
