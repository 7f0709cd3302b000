package sipcore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Name resolution has one rule: parkd resolves only the hosts it was told
// to call by its configuration or its API (Originate targets and the
// outbound proxy), and does it here. sipgo gets a resolver that refuses
// every lookup, so that a host name in a message from the network (a
// Contact, a Record-Route, a Via) can never make parkd query DNS; requests
// inside a dialog whose next hop is a name go to the address the dialog's
// messages came from instead (see dialogPeer.request).

// lookupIPAddr and lookupSRV resolve trusted targets; tests replace them
// to see every lookup parkd makes.
var (
	lookupIPAddr = net.DefaultResolver.LookupIPAddr
	lookupSRV    = net.DefaultResolver.LookupSRV
)

// errNoResolve is what sipgo's transport layer gets when it tries to resolve.
var errNoResolve = errors.New("sipcore: parkd resolves no host name it was not told to call")

// refusedLookups counts DNS queries sipgo tried (and was refused): parkd
// never hands sipgo a host name, so anything but 0 is a bug.
var refusedLookups atomic.Uint64

// refusingResolver is the resolver sipgo's transport layer gets. Its Dial
// is where a Go resolver would open its connection to a DNS server, so no
// query leaves; /etc/hosts is still read, which costs no packet.
func refusingResolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			refusedLookups.Add(1)
			return nil, errNoResolve
		},
	}
}

// resolveHop turns the host of a URI parkd was told to call into an
// address: an IP is taken as it is; a name is looked up (A/AAAA, then SRV
// when that fails and the URI names no port, as sipgo would).
func resolveHop(ctx context.Context, uri sip.Uri, transport string) (netip.AddrPort, error) {
	port := uri.Port
	if port == 0 {
		port = sip.DefaultPort(transport)
	}
	if ip, err := netip.ParseAddr(uriHost(uri.Host)); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
	}
	ips, err := lookupIPAddr(ctx, uri.Host)
	if err == nil {
		if ip, ok := preferV4(ips); ok {
			return netip.AddrPortFrom(ip, uint16(port)), nil
		}
		err = fmt.Errorf("no address for %s", uri.Host)
	}
	if uri.Port != 0 {
		return netip.AddrPort{}, err
	}
	_, srvs, srvErr := lookupSRV(ctx, "sip", transport, uri.Host)
	if srvErr != nil || len(srvs) == 0 {
		return netip.AddrPort{}, fmt.Errorf("resolving %s: %w", uri.Host, err)
	}
	ips, err = lookupIPAddr(ctx, srvs[0].Target)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("resolving %s (SRV %s): %w", uri.Host, srvs[0].Target, err)
	}
	ip, ok := preferV4(ips)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("no address for %s (SRV %s)", uri.Host, srvs[0].Target)
	}
	return netip.AddrPortFrom(ip, srvs[0].Port), nil
}

// preferV4 picks an IPv4 address when there is one, like sipgo does.
func preferV4(ips []net.IPAddr) (netip.Addr, bool) {
	var first netip.Addr
	for _, a := range ips {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if ip.Is4() {
			return ip, true
		}
		if !first.IsValid() {
			first = ip
		}
	}
	return first, first.IsValid()
}

// uriHost strips the brackets of an IPv6 reference.
func uriHost(h string) string {
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

// isIPHost reports whether a URI host is an IP literal (no lookup needed).
func isIPHost(h string) bool {
	_, err := netip.ParseAddr(uriHost(h))
	return err == nil
}

// advertiseTTL is how long a resolved sip.advertise name is used: long
// enough that a flood of calls is not a flood of DNS queries, short
// enough to follow a dynamic DNS name behind NAT.
const advertiseTTL = time.Minute

// advertiseCache resolves sip.advertise (configured, so resolved) at most
// once per advertiseTTL; every call's SDP needs it.
type advertiseCache struct {
	mu      sync.Mutex
	ip      netip.Addr
	expires time.Time
}

func (c *advertiseCache) addr(advertise string, now time.Time) (netip.Addr, bool) {
	if advertise == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(advertise); err == nil {
		return a, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Before(c.expires) {
		return c.ip, c.ip.IsValid()
	}
	c.expires = now.Add(advertiseTTL)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if ips, err := lookupIPAddr(ctx, advertise); err == nil {
		if ip, ok := preferV4(ips); ok {
			c.ip = ip
		}
	}
	return c.ip, c.ip.IsValid()
}
