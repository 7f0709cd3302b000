package sipcore

import (
	"net/netip"
	"testing"
)

// A destination admits paceCount NOTIFYs and queues the next; each answer
// lets one queued go. A window given back and reused for another
// destination starts empty.
func TestNotifyPacerWindowPerDestination(t *testing.T) {
	var q notifyPacer
	a := netip.MustParseAddrPort("192.0.2.1:5060")
	b := netip.MustParseAddrPort("192.0.2.2:5060")
	admitted := func(dest netip.AddrPort, n int) int {
		got := 0
		for range n {
			if q.admit(dest, pacedNotify{dest: dest, size: 100}) {
				got++
			}
		}
		return got
	}
	if got := admitted(a, paceCount+2); got != paceCount {
		t.Fatalf("%d of %d admitted to a, want %d", got, paceCount+2, paceCount)
	}
	var released int
	for range paceCount + 2 {
		released += len(q.release(a, 100, nil))
	}
	if released != 2 {
		t.Errorf("answers released %d queued NOTIFYs, want 2", released)
	}
	if len(q.dests) != 0 || len(q.spare) != 1 {
		t.Fatalf("after every answer: %d windows, %d spare; want 0 and 1", len(q.dests), len(q.spare))
	}
	if got := admitted(b, paceCount+1); got != paceCount {
		t.Errorf("a reused window admitted %d of %d to b, want %d", got, paceCount+1, paceCount)
	}
	if len(q.spare) != 0 {
		t.Errorf("%d spare windows while b's is in use, want 0", len(q.spare))
	}
}
