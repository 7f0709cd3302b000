package sipcore

import (
	"sync"
	"time"
)

// timerWheel runs the timers of every NOTIFY in flight (Timer E's
// retransmissions, Timer F's timeout) on one goroutine, which runs only
// while some are pending: a fan-out to thousands of subscribers then costs
// no goroutine and no runtime timer per NOTIFY. Timers fire up to one tick
// late, which RFC 3261's half-second Timer E does not notice.
type timerWheel struct {
	mu      sync.Mutex
	slots   [wheelSlots][]*udpTx
	pos     int       // the slot the next tick visits
	at      time.Time // when the wheel last turned
	pending int
	running bool
	fire    func(tx *udpTx, now time.Time) // runs without mu
}

const (
	wheelTick  = 10 * time.Millisecond
	wheelSlots = 256 // a 2.56 s turn; later timers go round again
)

// add arms tx's timer for tx.due, unless tx has ended: a timer that fired
// as Shutdown abandoned every NOTIFY re-arms after clear, and would keep
// the wheel turning for a transaction nobody resends.
func (w *timerWheel) add(tx *udpTx) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if tx.done.Load() { // abandon marks done before clear takes mu
		return
	}
	if !w.running {
		w.running, w.at = true, time.Now()
		go w.run()
	}
	w.insertLocked(tx)
	w.pending++
}

// clear forgets every timer; the goroutine ends at its next tick.
func (w *timerWheel) clear() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.slots[:])
	w.pending = 0
}

func (w *timerWheel) insertLocked(tx *udpTx) {
	ahead := int((tx.due.Sub(w.at) + wheelTick - 1) / wheelTick)
	ahead = min(max(ahead, 1), wheelSlots-1)
	i := (w.pos + ahead - 1) % wheelSlots
	w.slots[i] = append(w.slots[i], tx)
}

func (w *timerWheel) run() {
	ticker := time.NewTicker(wheelTick)
	defer ticker.Stop()
	var due []*udpTx
	for now := range ticker.C {
		w.mu.Lock()
		slot := w.slots[w.pos]
		w.slots[w.pos] = nil
		w.pos = (w.pos + 1) % wheelSlots
		w.at = now
		for _, tx := range slot {
			switch {
			case tx.done.Load():
				w.pending--
			case tx.due.After(now):
				w.insertLocked(tx) // due in a later turn
			default:
				w.pending--
				due = append(due, tx)
			}
		}
		if w.pending == 0 {
			w.running = false
		}
		running := w.running
		w.mu.Unlock()
		for i, tx := range due {
			w.fire(tx, now)
			due[i] = nil
		}
		due = due[:0]
		if !running {
			return
		}
	}
}
