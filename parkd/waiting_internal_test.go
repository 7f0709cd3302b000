package parkd

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// scanLongestWaiting is the walk over every slot that the wait list
// replaces: the answer it must give.
func scanLongestWaiting(l *lot) *slot {
	var oldest *slot
	for _, s := range l.slots {
		if s.parked != nil && !s.retrieving && (oldest == nil || s.parked.parkedAt.Before(oldest.parked.parkedAt)) {
			oldest = s
		}
	}
	return oldest
}

func testLot(n int) *lot {
	l := &lot{}
	for i := range n {
		l.slots = append(l.slots, &slot{lot: l, name: strconv.Itoa(701 + i), index: i})
	}
	return l
}

// checkWaitList fails unless the list holds exactly the occupied slots,
// in order, linked the same way both ways.
func checkWaitList(t *testing.T, l *lot, step int) {
	t.Helper()
	occupied := 0
	for _, sl := range l.slots {
		if sl.parked != nil {
			occupied++
		}
	}
	var forward []*slot
	for sl := l.waiting.oldest; sl != nil; sl = sl.wait.next {
		if len(forward) > len(l.slots) {
			t.Fatalf("step %d: the list loops", step)
		}
		if sl.parked == nil {
			t.Fatalf("step %d: empty slot %s is in the list", step, sl.name)
		}
		if n := len(forward); n > 0 && compareWaiting(sl, forward[n-1]) < 0 {
			t.Fatalf("step %d: %s is after %s but waited longer", step, sl.name, forward[n-1].name)
		}
		forward = append(forward, sl)
	}
	if len(forward) != occupied {
		t.Fatalf("step %d: %d slots in the list, %d occupied", step, len(forward), occupied)
	}
	i := len(forward) - 1
	for sl := l.waiting.newest; sl != nil; sl = sl.wait.prev {
		if i < 0 || forward[i] != sl {
			t.Fatalf("step %d: the list read backwards is not the list read forwards", step)
		}
		i--
	}
	if i != -1 {
		t.Fatalf("step %d: the backward walk stopped %d slots short", step, i+1)
	}
}

// The wait list finds the call a scan of every slot finds, through parks
// at the same instant, moves that keep an older time, retrieves in
// progress, hang-ups, and a rebuild as a reload makes.
func TestWaitListFindsWhatAScanFinds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		slots int
		ticks int // distinct park times: few means many ties
	}{
		{"ties everywhere", 6, 2},
		{"small lot", 8, 50},
		{"large lot", 200, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.slots)))
			l := testLot(tc.slots)
			base := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
			now := 0
			for step := range 5000 {
				sl := l.slots[rng.IntN(len(l.slots))]
				switch op := rng.IntN(10); {
				case op < 4 && sl.parked == nil: // a new park, now
					now = min(now+rng.IntN(2), tc.ticks)
					sl.parked = &callRecord{parkedAt: base.Add(time.Duration(now) * time.Second)}
					l.waiting.add(sl)
				case op < 5 && sl.parked == nil: // a move in: the call keeps its older time
					sl.parked = &callRecord{parkedAt: base.Add(time.Duration(rng.IntN(now+1)) * time.Second)}
					l.waiting.add(sl)
				case op < 8 && sl.parked != nil: // retrieved or hung up
					l.waiting.remove(sl)
					sl.parked, sl.retrieving = nil, false
				case op < 9 && sl.parked != nil:
					sl.retrieving = !sl.retrieving
				case op == 9 && step%50 == 0:
					for _, x := range l.slots {
						x.wait = waitLink{}
					}
					l.waiting.rebuild(l.slots)
				}
				checkWaitList(t, l, step)
				if got, want := l.longestWaiting(), scanLongestWaiting(l); got != want {
					t.Fatalf("step %d: longest waiting %v, a scan finds %v", step, slotName(got), slotName(want))
				}
			}
		})
	}
}

func slotName(sl *slot) string {
	if sl == nil {
		return "none"
	}
	return sl.name
}

// Taking out a slot that is not in the list (a retired one, whose call
// left) leaves the list alone.
func TestWaitListRemoveOfAnUnlinkedSlot(t *testing.T) {
	l := testLot(3)
	for _, i := range []int{0, 2} {
		l.slots[i].parked = &callRecord{}
		l.waiting.add(l.slots[i])
	}
	l.slots[1].parked = &callRecord{} // retired: holds a call, not linked
	l.waiting.remove(l.slots[1])
	l.slots[1].parked = nil
	checkWaitList(t, l, 0)
	if got := l.longestWaiting(); got != l.slots[0] {
		t.Fatalf("longest waiting %s, want 701", slotName(got))
	}
}
