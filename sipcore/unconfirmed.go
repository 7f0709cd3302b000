package sipcore

import (
	"net/netip"
	"sync"
)

// maxUnconfirmedPerSource bounds the calls one untrusted source IP may
// hold answered but not yet ACKed. Each holds an RTP port until its ACK
// arrives or 64*T1 passes, so without a bound one allowed source that never
// ACKs takes every port of rtp.ports in seconds (the fuzz campaign did). A
// phone ACKs within milliseconds; a PBX parking hundreds of calls a second
// can have more in flight while parkd is busy, so sources in sip.trusted
// are not counted.
const maxUnconfirmedPerSource = 128

// unconfirmedCalls counts, per source IP, the answered calls awaiting their
// ACK. Entries vanish at zero, so the map holds only sources with calls in
// that window.
type unconfirmedCalls struct {
	mu    sync.Mutex
	count map[netip.Addr]int
}

// take claims a place for ip; false when ip already has the most allowed.
func (u *unconfirmedCalls) take(ip netip.Addr) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.count == nil {
		u.count = map[netip.Addr]int{}
	}
	if u.count[ip] >= maxUnconfirmedPerSource {
		return false
	}
	u.count[ip]++
	return true
}

// release returns a place taken for ip.
func (u *unconfirmedCalls) release(ip netip.Addr) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if n := u.count[ip]; n > 1 {
		u.count[ip] = n - 1
	} else {
		delete(u.count, ip)
	}
}
