package sipcore

import (
	"testing"
	"time"
)

// A timer that fired while Shutdown abandoned its NOTIFY re-arms it after
// the wheel was cleared: the wheel must not turn again for it.
func TestWheelIgnoresEndedTransaction(t *testing.T) {
	w := &timerWheel{fire: func(*udpTx, time.Time) { t.Error("an ended NOTIFY's timer fired") }}
	tx := &udpTx{due: time.Now().Add(wheelTick)}
	tx.done.Store(true)
	w.add(tx)
	w.mu.Lock()
	running, pending := w.running, w.pending
	w.mu.Unlock()
	if running || pending != 0 {
		t.Fatalf("after arming an ended NOTIFY: running %v with %d timers, want stopped with none", running, pending)
	}
}

// The wheel fires a live transaction's timer at its due time and then
// stops, its goroutine gone with nothing pending.
func TestWheelFiresAndStops(t *testing.T) {
	fired := make(chan time.Time, 1)
	w := &timerWheel{fire: func(_ *udpTx, now time.Time) { fired <- now }}
	armed := time.Now()
	w.add(&udpTx{due: armed.Add(3 * wheelTick)})
	at := receive(t, fired, "the timer to fire")
	if early := at.Sub(armed); early < 3*wheelTick-time.Millisecond {
		t.Errorf("fired %v after arming, want at least %v", early, 3*wheelTick)
	}
	waitFor(t, "the wheel to stop", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return !w.running && w.pending == 0
	})
}
