package sipcore

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// maxRemembered bounds the dialogs a BYE ended (ended.go): at 1,000 calls
// a second, 64*T1 of them is 32,000. Past it the oldest are forgotten
// early, so a flood costs a fixed amount of memory.
const maxRemembered = 65536

// rememberSeed keys the hashes the sets keep instead of what a peer sent;
// random per process, so a peer cannot choose headers that collide with
// another call's.
var rememberSeed = maphash.MakeSeed()

// rememberWindow is how long a transaction parkd has let go of stays
// remembered: 64*T1, as long as sipgo would have kept it (Timer J for a
// BYE, Timer L for an INVITE's 2xx) and as long as a client may resend.
func rememberWindow() time.Duration { return 64 * sip.T1 }

// expiringSet remembers keys, each with a value, for rememberWindow,
// oldest forgotten first. It stands in for transactions that would
// otherwise hold a parsed request and response each for 32 s only to
// recognise a retransmission.
type expiringSet[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	live  map[K]expiringValue[V] // the key's latest entry
	queue []expiringEntry[K]     // oldest first, from head
	head  int
	next  uint64
}

type expiringValue[V any] struct {
	v   V
	seq uint64
}

type expiringEntry[K comparable] struct {
	key K
	at  time.Time
	seq uint64
}

func (e *expiringSet[K, V]) init(max int) { e.max, e.live = max, map[K]expiringValue[V]{} }

func (e *expiringSet[K, V]) add(key K, v V, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expireLocked(now)
	if len(e.queue)-e.head >= e.max {
		e.popLocked()
	}
	e.next++
	e.live[key] = expiringValue[V]{v: v, seq: e.next}
	e.queue = append(e.queue, expiringEntry[K]{key: key, at: now, seq: e.next})
}

// remove forgets key at once; its queue entry goes when it expires.
func (e *expiringSet[K, V]) remove(key K) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.live, key)
}

func (e *expiringSet[K, V]) get(key K, now time.Time) (V, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expireLocked(now)
	lv, ok := e.live[key]
	return lv.v, ok
}

func (e *expiringSet[K, V]) has(key K, now time.Time) bool {
	_, ok := e.get(key, now)
	return ok
}

func (e *expiringSet[K, V]) len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.live)
}

func (e *expiringSet[K, V]) expireLocked(now time.Time) {
	window := rememberWindow()
	for e.head < len(e.queue) && now.Sub(e.queue[e.head].at) > window {
		e.popLocked()
	}
}

// popLocked drops the oldest queue entry, and its key unless the key was
// added again since (the later entry keeps it).
func (e *expiringSet[K, V]) popLocked() {
	if e.head == len(e.queue) {
		return
	}
	old := e.queue[e.head]
	if lv, ok := e.live[old.key]; ok && lv.seq == old.seq {
		delete(e.live, old.key)
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
