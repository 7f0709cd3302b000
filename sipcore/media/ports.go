package media

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
)

// ErrNoPorts is returned (wrapped) by Allocator.Open when every port in the
// range is in use or refuses to bind.
var ErrNoPorts = errors.New("media: no free RTP port")

// Allocator hands out RTP ports from an inclusive range on one IP. Only even
// ports are used (RFC 3550 §11); the odd RTCP port next to each is never
// bound because parkd does not speak RTCP.
type Allocator struct {
	ip      netip.Addr
	network string // "udp4" or "udp6": never a dual-stack socket, so sources compare cleanly
	first   int    // lowest even port in the range
	count   int    // number of even ports in the range

	mu    sync.Mutex
	next  int    // round-robin cursor, index into the even ports
	inUse []bool // by index
	used  int
}

// NewAllocator validates the range and returns an allocator for it.
// Privileged ports (<1024) are refused: an RTP range there is always a
// configuration mistake.
func NewAllocator(ip netip.Addr, low, high int) (*Allocator, error) {
	if !ip.IsValid() {
		return nil, errors.New("media: RTP bind address is not set")
	}
	if low > high {
		return nil, fmt.Errorf("media: RTP port range %d-%d: low is above high", low, high)
	}
	if low < 1024 || high > 65535 {
		return nil, fmt.Errorf("media: RTP port range %d-%d must lie within 1024-65535", low, high)
	}
	first := low + low%2
	if first > high {
		return nil, fmt.Errorf("media: RTP port range %d-%d holds no even port", low, high)
	}
	ip = ip.Unmap()
	network := "udp4"
	if ip.Is6() {
		network = "udp6"
	}
	count := (high-first)/2 + 1
	return &Allocator{
		ip:      ip,
		network: network,
		first:   first,
		count:   count,
		// Start at a random port so a restarted server does not hand the
		// ports of its previous life (possibly still receiving a stale
		// stream) to its first calls.
		next:  rand.IntN(count),
		inUse: make([]bool, count),
	}, nil
}

// Open binds a UDP socket on the next free even port (round-robin, so a
// just-released port is not immediately reused and late packets of the old
// call do not leak into the new one) and returns a Session on it. Ports
// that fail to bind (taken by another process) are skipped.
func (a *Allocator) Open(log *slog.Logger) (*Session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var lastErr error
	for range a.count {
		idx := a.next
		a.next = (a.next + 1) % a.count
		if a.inUse[idx] {
			continue
		}
		port := a.first + 2*idx
		laddr := net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.ip, uint16(port)))
		conn, err := net.ListenUDP(a.network, laddr)
		if err != nil {
			lastErr = err
			continue
		}
		a.inUse[idx] = true
		a.used++
		return newSession(conn, log, func() { a.release(idx) }), nil
	}
	if lastErr != nil {
		return nil, fmt.Errorf("%w in %s:%d-%d (last bind error: %v)", ErrNoPorts, a.ip, a.first, a.first+2*(a.count-1), lastErr)
	}
	return nil, fmt.Errorf("%w in %s:%d-%d (%d in use)", ErrNoPorts, a.ip, a.first, a.first+2*(a.count-1), a.used)
}

// InUse reports how many ports are currently held by open sessions.
func (a *Allocator) InUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.used
}

func (a *Allocator) release(idx int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inUse[idx] {
		a.inUse[idx] = false
		a.used--
	}
}
