package media

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
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
//
// A released port keeps its socket, bound and deaf, for the next call the
// port is given (keep_linux.go; not on a wildcard address); Close closes
// those.
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
	kept    []int32 // by index: the socket a port's last call left bound (keep_linux.go), or -1
	closed  bool
}

// keptSockets counts the idle sockets every Allocator of the process
// keeps, at most keptMax.
var keptSockets, keptMax atomic.Int64

// KeptSockets is how many idle sockets the process keeps for ports' next
// calls: descriptors that are open with no call on them, by design.
func KeptSockets() int { return int(keptSockets.Load()) }

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
	kept := make([]int32, count)
	for i := range kept {
		kept[i] = -1
	}
	keptMax.Store(int64(keptLimit()))
	return &Allocator{
		ip:      ip,
		network: network,
		first:   first,
		count:   count,
		free:    free,
		cooling: make([]int, min(count/2, maxCooling)),
		inUse:   make([]bool, count),
		kept:    kept,
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
		sock, err := a.bindLocked(idx, netip.AddrPortFrom(a.ip, uint16(port)))
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
		return newSession(sock, log, func(fd int) { a.release(idx, fd) }), nil
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

// bindLocked is a socket on the port: the one its last call left, else a
// new one. a.mu held.
func (a *Allocator) bindLocked(idx int, addr netip.AddrPort) (*udpSocket, error) {
	if fd := a.kept[idx]; fd >= 0 {
		a.kept[idx] = -1
		keptSockets.Add(-1)
		if u := reuseFD(int(fd), addr); u != nil {
			return u, nil
		}
	}
	return listenUDP(a.network, addr)
}

// release takes a port back from its ended call, and the call's socket
// (fd, unless -1) to keep for the port's next call.
func (a *Allocator) release(idx int, fd int) {
	if fd >= 0 {
		fd = a.keepOrClose(idx, fd) // system calls, outside a.mu
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if fd >= 0 {
		if a.closed || !a.inUse[idx] {
			closeFD(fd)
			keptSockets.Add(-1)
		} else {
			a.kept[idx] = int32(fd)
		}
	}
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

// keepOrClose readies the socket fd of port idx for the port's next call
// and counts it, or closes it: on a wildcard address, or when the process
// keeps as many as it may. -1 when closed.
func (a *Allocator) keepOrClose(idx, fd int) int {
	if !keepsSockets(a.ip) {
		closeFD(fd)
		return -1
	}
	if keptSockets.Add(1) > keptMax.Load() {
		keptSockets.Add(-1)
		closeFD(fd)
		return -1
	}
	if !keepFD(fd, netip.AddrPortFrom(a.ip, uint16(a.first+2*idx))) {
		keptSockets.Add(-1)
		return -1
	}
	return fd
}

// Close closes the sockets a kept for ports' next calls; ports released
// afterwards close theirs. Sessions still open keep working.
func (a *Allocator) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for i, fd := range a.kept {
		if fd >= 0 {
			closeFD(int(fd))
			a.kept[i] = -1
			keptSockets.Add(-1)
		}
	}
}

// warmAllLocked frees every cooling port. a.mu held.
func (a *Allocator) warmAllLocked() {
	for ; a.coolN > 0; a.coolN-- {
		a.free = append(a.free, a.cooling[a.coolAt])
		a.coolAt = (a.coolAt + 1) % len(a.cooling)
	}
}
