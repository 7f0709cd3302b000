package parkd

import (
	"cmp"
	"slices"
)

// waitList is a lot's occupied slots, the call that has waited longest
// first, so the lot's retrieve extension finds it without walking every
// slot: with lots of 1,000 slots that walk, under the server's lock, was
// most of a *700 retrieve's own cost. Slots are linked through their
// waitLink; every change happens under Server.mu.
type waitList struct{ oldest, newest *slot }

// waitLink is a slot's place in its lot's waitList.
type waitLink struct {
	prev, next *slot
	linked     bool
}

// compareWaiting orders two occupied slots: the call parked earlier
// first, and at the same instant the lower slot, as a walk in slot order
// finds it.
func compareWaiting(a, b *slot) int {
	return cmp.Or(a.parked.parkedAt.Compare(b.parked.parkedAt), cmp.Compare(a.index, b.index))
}

// add links sl, which has just been given its call. Calls are nearly
// always parked now, so the walk from the newest end stops at once; a
// call moved in from another slot keeps its time and goes further in.
func (w *waitList) add(sl *slot) {
	if sl.wait.linked {
		w.remove(sl)
	}
	after := w.newest
	for after != nil && compareWaiting(sl, after) < 0 {
		after = after.wait.prev
	}
	sl.wait = waitLink{prev: after, linked: true}
	if after == nil {
		sl.wait.next, w.oldest = w.oldest, sl
	} else {
		sl.wait.next, after.wait.next = after.wait.next, sl
	}
	if sl.wait.next == nil {
		w.newest = sl
	} else {
		sl.wait.next.wait.prev = sl
	}
}

// remove unlinks sl; a slot that is not linked (a retired one, or one
// whose lot a reload replaced) is left as it is.
func (w *waitList) remove(sl *slot) {
	if !sl.wait.linked {
		return
	}
	if sl.wait.prev == nil {
		w.oldest = sl.wait.next
	} else {
		sl.wait.prev.wait.next = sl.wait.next
	}
	if sl.wait.next == nil {
		w.newest = sl.wait.prev
	} else {
		sl.wait.next.wait.prev = sl.wait.prev
	}
	sl.wait = waitLink{}
}

// rebuild links the occupied slots of slots afresh, after a reload has
// moved slots between lots. Links into other lists must be cleared first.
func (w *waitList) rebuild(slots []*slot) {
	*w = waitList{}
	var occupied []*slot
	for _, sl := range slots {
		if sl.parked != nil {
			occupied = append(occupied, sl)
		}
	}
	slices.SortFunc(occupied, compareWaiting)
	for _, sl := range occupied {
		sl.wait = waitLink{prev: w.newest, linked: true}
		if w.newest == nil {
			w.oldest = sl
		} else {
			w.newest.wait.next = sl
		}
		w.newest = sl
	}
}

// longestWaiting is the parked call that has waited longest, for the lot's
// retrieve extension; calls already being picked up are skipped, so
// retrievers dialling at once each get a different call.
func (l *lot) longestWaiting() *slot {
	for sl := l.waiting.oldest; sl != nil; sl = sl.wait.next {
		if !sl.retrieving {
			return sl
		}
	}
	return nil
}
