package sipcore

import (
	"net/netip"
	"sync"
	"time"
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
//
// A subscription's NOTIFY head keeps its destination's window, and a
// NOTIFY in flight the one it took room in, so a fan-out and its answers
// touch no map: with a watcher per destination, making and dropping a
// map entry per NOTIFY was a tenth of a fan-out's own work. Up to
// paceKeepIdle windows stay listed while idle, and are swept when a new
// destination is listed; past that an idle window goes at once, so
// subscribers that come and go from ever new addresses cost no more than
// the NOTIFYs they have in flight.
type notifyPacer struct {
	mu        sync.Mutex
	dests     map[netip.AddrPort]*paceWindow
	lastSweep time.Time
}

// paceSweepEvery is how often, at most, idle windows are unlisted: a
// window idle for one to two of these goes, and the map holds at most the
// destinations notified within the last two.
const paceSweepEvery = time.Minute

// paceKeepIdle bounds the idle windows kept listed: a lot's watchers,
// with room to spare.
const paceKeepIdle = 4096

const (
	paceCount = 32
	paceBytes = 48 << 10
)

type paceWindow struct {
	dest     netip.AddrPort
	inflight int
	bytes    int
	waiting  []pacedNotify // FIFO: head is waiting[0]
	listed   bool          // in dests: a window swept out is never used again
	used     bool          // admitted a NOTIFY since the last sweep
}

// pacedNotify is a subscription waiting for room at its destination; it
// sends its state as it is when it gets the room.
type pacedNotify struct {
	s     *Subscription
	w     *paceWindow
	size  int
	track *fanoutTrack
}

// admit takes room for a NOTIFY of about size bytes to h's destination
// and returns the window it took it in, or queues p and returns nil. A
// NOTIFY bigger than the byte budget still goes, alone. Callers hold the
// subscription's lock (h is its).
func (q *notifyPacer) admit(h *notifyHead, p pacedNotify) *paceWindow {
	q.mu.Lock()
	defer q.mu.Unlock()
	w := h.pace
	if w == nil || !w.listed {
		w = q.windowLocked(h.dest)
		h.pace = w
	}
	w.used = true
	if len(w.waiting) == 0 && w.fits(p.size) {
		w.inflight++
		w.bytes += p.size
		return w
	}
	p.w = w
	w.waiting = append(w.waiting, p)
	return nil
}

// windowLocked returns dest's listed window, listing a new one.
func (q *notifyPacer) windowLocked(dest netip.AddrPort) *paceWindow {
	if w := q.dests[dest]; w != nil {
		return w
	}
	if q.dests == nil {
		q.dests = map[netip.AddrPort]*paceWindow{}
	}
	if now := time.Now(); now.Sub(q.lastSweep) >= paceSweepEvery {
		q.sweepLocked()
		q.lastSweep = now
	}
	w := &paceWindow{dest: dest, listed: true}
	q.dests[dest] = w
	return w
}

// sweepLocked unlists the windows that admitted nothing since the last
// sweep and hold nothing now.
func (q *notifyPacer) sweepLocked() {
	for _, w := range q.dests {
		if !w.used && w.inflight == 0 && len(w.waiting) == 0 {
			q.unlistLocked(w)
		}
		w.used = false
	}
}

func (w *paceWindow) fits(size int) bool {
	return w.inflight == 0 || (w.inflight < paceCount && w.bytes+size <= paceBytes)
}

// release gives back the room of a NOTIFY that was answered or given up
// on, in the window w it took, and returns the waiting ones that now fit,
// which the caller sends (their room is taken).
func (q *notifyPacer) release(w *paceWindow, size int, next []pacedNotify) []pacedNotify {
	q.mu.Lock()
	defer q.mu.Unlock()
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
		if w.inflight == 0 && len(q.dests) > paceKeepIdle {
			q.unlistLocked(w)
		}
	}
	return next
}

// unlistLocked takes w out of the map; a head that kept it lists a new one.
func (q *notifyPacer) unlistLocked(w *paceWindow) {
	if w.listed {
		w.listed = false
		delete(q.dests, w.dest)
	}
}
