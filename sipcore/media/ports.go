package media

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
)

// ErrNoPorts is returned (wrapped) by Allocator.Open when every port in the
// range is in use or refuses to bind.
var ErrNoPorts = errors.New("media: no free RTP port")

// Allocator hands out RTP ports from an inclusive range on one IP. Only even
// ports are used (RFC 3550 §11); the odd RTCP port next to each is never
// bound because parkd does not speak RTCP.
//
// Ports are picked at random among the free ones, so nobody outside can
// predict a new call's port from the last one's and aim RTP at it. A
// released port cools down behind the most recently released ones before it
// is picked again, so late packets of an ended call rarely meet a new call
// on the same port; when nothing else is free, cooling ports are used.
type Allocator struct {
	ip      netip.Addr
	network string // "udp4" or "udp6": never a dual-stack socket, so sources compare cleanly
	first   int    // lowest even port in the range
	count   int    // number of even ports in the range

	mu      sync.Mutex
	free    []int  // indexes of ports neither held nor cooling, in no order
	cooling []int  // ring of released indexes, oldest at coolAt
	coolN   int    // how many of cooling are set
	coolAt  int    // index in cooling of the oldest
	inUse   []bool // by index
	used    int
}

// maxCooling bounds how many released ports wait before they are free again.
const maxCooling = 256

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
	// The RTP pollers start with the first allocator, not the first call:
	// a failure shows at startup, and their descriptors are there from the
	// beginning, not counted as a call's.
	if err := startReaders(); err != nil {
		return nil, err
	}
	count := (high-first)/2 + 1
	free := make([]int, count)
	for i := range free {
		free[i] = i
	}
	return &Allocator{
		ip:      ip,
		network: network,
		first:   first,
		count:   count,
		free:    free,
		cooling: make([]int, min(count/2, maxCooling)),
		inUse:   make([]bool, count),
	}, nil
}

// Open binds a UDP socket on a random free even port and returns a Session
// on it. Ports that fail to bind (taken by another process) are skipped for
// this call and tried again by later ones.
func (a *Allocator) Open(log *slog.Logger) (*Session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var lastErr error
	// a.free[:failed] refused to bind during this call; the rest are
	// candidates. Each try is O(1): a random pick, then a swap.
	failed := 0
	for {
		if failed == len(a.free) {
			if a.coolN == 0 {
				break
			}
			a.warmAllLocked() // better a cooling port than no call
		}
		i := failed + rand.IntN(len(a.free)-failed)
		idx := a.free[i]
		port := a.first + 2*idx
		sock, err := listenUDP(a.network, netip.AddrPortFrom(a.ip, uint16(port)))
		if err != nil {
			lastErr = err
			a.free[i], a.free[failed] = a.free[failed], a.free[i]
			failed++
			continue
		}
		last := len(a.free) - 1
		a.free[i] = a.free[last]
		a.free = a.free[:last]
		a.inUse[idx] = true
		a.used++
		return newSession(sock, log, func() { a.release(idx) }), nil
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
	if !a.inUse[idx] {
		return
	}
	a.inUse[idx] = false
	a.used--
	if len(a.cooling) == 0 {
		a.free = append(a.free, idx)
		return
	}
	if a.coolN == len(a.cooling) { // full: the oldest is free again
		a.free = append(a.free, a.cooling[a.coolAt])
		a.coolAt = (a.coolAt + 1) % len(a.cooling)
		a.coolN--
	}
	a.cooling[(a.coolAt+a.coolN)%len(a.cooling)] = idx
	a.coolN++
}

// warmAllLocked frees every cooling port. a.mu held.
func (a *Allocator) warmAllLocked() {
	for ; a.coolN > 0; a.coolN-- {
		a.free = append(a.free, a.cooling[a.coolAt])
		a.coolAt = (a.coolAt + 1) % len(a.cooling)
	}
}
