package sipcore

import (
	"hash/maphash"
	"net"
	"net/netip"
)

// udpSource is a datagram's source as sipgo's read loop gets it. sipgo
// formats the source of every datagram it reads (raddr.String()), which
// for a *net.UDPAddr allocated the address, its IP and the string anew
// each time: a third of what a BLF change allocated, with a thousand
// watchers answering each change. A udpSource carries its string, made
// once.
type udpSource struct {
	net.UDPAddr
	ap netip.AddrPort
	s  string
}

// String is the address as *net.UDPAddr formats it.
func (a *udpSource) String() string { return a.s }

// AddrPort is the address as the kernel gave it.
func (a *udpSource) AddrPort() netip.AddrPort { return a.ap }

func newUDPSource(ap netip.AddrPort) *udpSource {
	a := &udpSource{UDPAddr: *net.UDPAddrFromAddrPort(ap), ap: ap}
	a.s = a.UDPAddr.String()
	return a
}

// sourceCacheSize is how many sources one listener's cache holds: the
// watchers and phones that talk to parkd most, in the common case. A
// sender that cycles through ports or addresses only misses; it costs no
// more than before, and the cache no more than this many entries.
const sourceCacheSize = 4096

// sourceCache maps a source to its udpSource, direct-mapped by a hash of
// the address: a miss replaces what was in its entry. Only the listener's
// read loop uses it, so it has no lock; the sources it hands out are
// never changed, so sipgo may keep them.
type sourceCache struct {
	seed    maphash.Seed
	entries [sourceCacheSize]*udpSource
}

func newSourceCache() *sourceCache { return &sourceCache{seed: maphash.MakeSeed()} }

// get returns the udpSource of ap, made on an earlier read or, on a miss
// (a new source, or one that lost its entry since), now.
func (c *sourceCache) get(ap netip.AddrPort) (src *udpSource, miss bool) {
	i := maphash.Comparable(c.seed, ap) % sourceCacheSize
	if a := c.entries[i]; a != nil && a.ap == ap {
		return a, false
	}
	a := newUDPSource(ap)
	c.entries[i] = a
	return a, true
}
