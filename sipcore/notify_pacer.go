package sipcore

import (
	"net/netip"
	"sync"
)

// notifyPacer bounds the NOTIFYs in flight to each UDP destination. A
// fan-out to a thousand subscriptions behind one socket (a proxy, one
// sipp) written in one burst overruns that socket's receive buffer (208
// KiB by default on Linux; a datagram costs it about twice its size), and
// what it drops comes back half a second later by Timer E. With at most
// paceCount NOTIFYs (and paceBytes of them) unanswered per destination,
// each 2xx lets the next one go: the receiver's buffer never holds more
// than the window, and destinations with one subscription each are not
// slowed at all, since the window is per destination.
type notifyPacer struct {
	mu    sync.Mutex
	dests map[netip.AddrPort]*paceWindow
	// spare holds windows whose destination has nothing in flight: with a
	// watcher per destination every NOTIFY made and dropped one, a tenth
	// of what a fan-out allocated.
	spare []*paceWindow
}

// paceSpare bounds the spare windows: a fan-out's worth.
const paceSpare = 1024

const (
	paceCount = 32
	paceBytes = 48 << 10
)

type paceWindow struct {
	inflight int
	bytes    int
	waiting  []pacedNotify // FIFO: head is waiting[0]
}

// pacedNotify is a subscription waiting for room at its destination; it
// sends its state as it is when it gets the room.
type pacedNotify struct {
	s     *Subscription
	dest  netip.AddrPort
	size  int
	track *fanoutTrack
}

// admit takes room for a NOTIFY of about size bytes to dest, or queues p
// and returns false. A NOTIFY bigger than the byte budget still goes, alone.
func (q *notifyPacer) admit(dest netip.AddrPort, p pacedNotify) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.dests == nil {
		q.dests = map[netip.AddrPort]*paceWindow{}
	}
	w := q.dests[dest]
	if w == nil {
		if n := len(q.spare); n > 0 {
			w, q.spare = q.spare[n-1], q.spare[:n-1]
		} else {
			w = &paceWindow{}
		}
		q.dests[dest] = w
	}
	if len(w.waiting) == 0 && w.fits(p.size) {
		w.inflight++
		w.bytes += p.size
		return true
	}
	w.waiting = append(w.waiting, p)
	return false
}

func (w *paceWindow) fits(size int) bool {
	return w.inflight == 0 || (w.inflight < paceCount && w.bytes+size <= paceBytes)
}

// release gives back the room of a NOTIFY to dest that was answered or
// given up on, and returns the waiting ones that now fit, which the caller
// sends (their room is taken).
func (q *notifyPacer) release(dest netip.AddrPort, size int, next []pacedNotify) []pacedNotify {
	q.mu.Lock()
	defer q.mu.Unlock()
	w := q.dests[dest]
	if w == nil {
		return next
	}
	w.inflight--
	w.bytes -= size
	for len(w.waiting) > 0 && w.fits(w.waiting[0].size) {
		p := w.waiting[0]
		w.waiting[0] = pacedNotify{}
		w.waiting = w.waiting[1:]
		w.inflight++
		w.bytes += p.size
		next = append(next, p)
	}
	if len(w.waiting) == 0 {
		w.waiting = nil // let a long queue's array go
		if w.inflight == 0 {
			delete(q.dests, dest)
			if len(q.spare) < paceSpare {
				*w = paceWindow{}
				q.spare = append(q.spare, w)
			}
		}
	}
	return next
}
