package sipcore

import (
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// maxRemembered bounds each expiringSet: at 1,000 calls a second, 64*T1
// of INVITEs or BYEs is 32,000. Past it the oldest are forgotten early,
// so a flood costs a fixed amount of memory.
const maxRemembered = 65536

// rememberWindow is how long a transaction parkd has let go of stays
// remembered: 64*T1, as long as sipgo would have kept it (Timer J for a
// BYE, Timer L for an INVITE's 2xx) and as long as a client may resend.
func rememberWindow() time.Duration { return 64 * sip.T1 }

// expiringSet remembers keys for rememberWindow, oldest forgotten first.
// It stands in for transactions that would otherwise hold a parsed
// request and response each for 32 s only to recognise a retransmission.
type expiringSet[K comparable] struct {
	mu    sync.Mutex
	max   int
	seq   map[K]uint64       // the key's latest entry
	queue []expiringEntry[K] // oldest first, from head
	head  int
	next  uint64
}

type expiringEntry[K comparable] struct {
	key K
	at  time.Time
	seq uint64
}

func (e *expiringSet[K]) init(max int) { e.max, e.seq = max, map[K]uint64{} }

func (e *expiringSet[K]) add(key K, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expireLocked(now)
	if len(e.queue)-e.head >= e.max {
		e.popLocked()
	}
	e.next++
	e.seq[key] = e.next
	e.queue = append(e.queue, expiringEntry[K]{key: key, at: now, seq: e.next})
}

// remove forgets key at once; its queue entry goes when it expires.
func (e *expiringSet[K]) remove(key K) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.seq, key)
}

func (e *expiringSet[K]) has(key K, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expireLocked(now)
	_, ok := e.seq[key]
	return ok
}

func (e *expiringSet[K]) len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.seq)
}

func (e *expiringSet[K]) expireLocked(now time.Time) {
	window := rememberWindow()
	for e.head < len(e.queue) && now.Sub(e.queue[e.head].at) > window {
		e.popLocked()
	}
}

// popLocked drops the oldest queue entry, and its key unless the key was
// added again since (the later entry keeps it).
func (e *expiringSet[K]) popLocked() {
	if e.head == len(e.queue) {
		return
	}
	old := e.queue[e.head]
	if seq, ok := e.seq[old.key]; ok && seq == old.seq {
		delete(e.seq, old.key)
	}
	e.queue[e.head] = expiringEntry[K]{}
	e.head++
	if e.head == len(e.queue) {
		e.queue, e.head = e.queue[:0], 0
	} else if e.head >= 1024 && e.head >= len(e.queue)/2 {
		n := copy(e.queue, e.queue[e.head:])
		clear(e.queue[n:])
		e.queue, e.head = e.queue[:n], 0
	}
}
