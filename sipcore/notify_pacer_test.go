package sipcore

import (
	"net/netip"
	"testing"
	"time"
)

// A destination admits paceCount NOTIFYs and queues the next; each answer
// lets one queued go, and another destination's window is its own.
func TestNotifyPacerWindowPerDestination(t *testing.T) {
	var q notifyPacer
	a := &notifyHead{dest: netip.MustParseAddrPort("192.0.2.1:5060")}
	a2 := &notifyHead{dest: a.dest} // a second subscription behind the same socket
	b := &notifyHead{dest: netip.MustParseAddrPort("192.0.2.2:5060")}
	var windows []*paceWindow
	admitted := func(h *notifyHead, n int) int {
		got := 0
		for range n {
			if w := q.admit(h, pacedNotify{size: 100}); w != nil {
				windows = append(windows, w)
				got++
			}
		}
		return got
	}
	if got := admitted(a, paceCount/2) + admitted(a2, paceCount/2+2); got != paceCount {
		t.Fatalf("%d of %d admitted to a, want %d", got, paceCount+2, paceCount)
	}
	if a.pace != a2.pace {
		t.Fatal("two heads with one destination have two windows")
	}
	if got := admitted(b, 1); got != 1 {
		t.Errorf("b's NOTIFY waited for a's window")
	}
	var released int
	for _, w := range windows[:paceCount] {
		released += len(q.release(w, 100, nil))
	}
	if released != 2 {
		t.Errorf("answers released %d queued NOTIFYs, want 2", released)
	}
	if w := a.pace; w.inflight != 2 || len(w.waiting) != 0 {
		t.Errorf("a's window: %d in flight, %d waiting; want 2 and 0", w.inflight, len(w.waiting))
	}
}

// Idle windows are unlisted by a sweep when a new destination is listed,
// after a quiet spell; one with a NOTIFY in flight stays, and a head whose
// window went gets a new one.
func TestNotifyPacerSweepsIdleWindows(t *testing.T) {
	var q notifyPacer
	idle := &notifyHead{dest: netip.MustParseAddrPort("192.0.2.1:5060")}
	busy := &notifyHead{dest: netip.MustParseAddrPort("192.0.2.2:5060")}
	q.release(q.admit(idle, pacedNotify{size: 100}), 100, nil)
	inFlight := q.admit(busy, pacedNotify{size: 100})
	if len(q.dests) != 2 {
		t.Fatalf("%d windows listed, want 2", len(q.dests))
	}

	// Two sweeps apart: the first clears what was used, the second takes
	// what stayed unused since.
	for i := range 2 {
		q.lastSweep = time.Now().Add(-paceSweepEvery)
		fresh := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.9"), uint16(5060+i))
		q.admit(&notifyHead{dest: fresh}, pacedNotify{size: 100})
	}
	if q.dests[idle.dest] != nil || idle.pace.listed {
		t.Error("an idle window stayed listed after two sweeps")
	}
	if q.dests[busy.dest] != inFlight || !inFlight.listed {
		t.Error("a window with a NOTIFY in flight was swept")
	}
	old := idle.pace
	if w := q.admit(idle, pacedNotify{size: 100}); w == nil || w == old || !w.listed || q.dests[idle.dest] != w {
		t.Error("a head whose window was swept did not get a listed new one")
	}
}

// Past paceKeepIdle listed windows, one goes as soon as its last NOTIFY is
// answered: watchers that come and go from new addresses do not grow the
// map beyond what is in flight.
func TestNotifyPacerKeepsFewIdleWindows(t *testing.T) {
	var q notifyPacer
	var inFlight []*paceWindow
	for i := range paceKeepIdle + 100 {
		h := &notifyHead{dest: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 5060)}
		inFlight = append(inFlight, q.admit(h, pacedNotify{size: 100}))
	}
	for _, w := range inFlight {
		q.release(w, 100, nil)
	}
	if n := len(q.dests); n != paceKeepIdle {
		t.Errorf("%d windows listed after every NOTIFY was answered, want %d", n, paceKeepIdle)
	}
	for _, w := range inFlight {
		if w.listed != (q.dests[w.dest] == w) {
			t.Fatalf("window of %v: listed %v, in the map %v", w.dest, w.listed, q.dests[w.dest] == w)
		}
	}
}
