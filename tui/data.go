package tui

import (
	"slices"
	"time"

	"github.com/parkd/parkd/parkd"
)

// board is the console's copy of the daemon's state: taken whole from a
// snapshot, then kept current by applying events locally (no request per
// event). Slots never move, so a slot keeps its index for the session.
type board struct {
	status parkd.Status
	lots   []*lotBoard
	slots  map[string]*slotState // by slot number
	// queue is every lot's attendant queue, in lot order then position.
	queue   []parkd.CallView
	lastSeq uint64
	loaded  bool
}

type lotBoard struct {
	view  parkd.LotView
	slots []*slotState // in number order
}

type slotState struct {
	parkd.SlotView
	lot int // index into board.lots
}

// newBoard builds the board from a snapshot.
func newBoard(s snapshotMsg) *board {
	b := &board{status: s.status, slots: make(map[string]*slotState, len(s.slots)), lastSeq: s.status.LastEvent, loaded: true}
	byName := map[string]int{}
	for _, l := range s.lots {
		byName[l.Name] = len(b.lots)
		b.lots = append(b.lots, &lotBoard{view: l})
	}
	for _, sv := range s.slots {
		i, ok := byName[sv.Lot]
		if !ok { // a lot Lots did not list: show it anyway
			i = len(b.lots)
			byName[sv.Lot] = i
			b.lots = append(b.lots, &lotBoard{view: parkd.LotView{Name: sv.Lot}})
		}
		st := &slotState{SlotView: sv, lot: i}
		b.lots[i].slots = append(b.lots[i].slots, st)
		b.slots[sv.Slot] = st
	}
	for _, l := range b.lots {
		if l.view.Total == 0 {
			l.view.Total = len(l.slots)
		}
	}
	b.queue = slices.Clone(s.queue)
	b.sortQueue()
	return b
}

// lotIndex is the index of the named lot, or -1.
func (b *board) lotIndex(name string) int {
	for i, l := range b.lots {
		if l.view.Name == name {
			return i
		}
	}
	return -1
}

// used counts a lot's occupied slots; cheap enough to do per frame even
// for 1,000 slots, and never out of step with the slots themselves.
func (l *lotBoard) used() int {
	n := 0
	for _, s := range l.slots {
		if s.Call != nil {
			n++
		}
	}
	return n
}

// occupied counts every parked call on the board.
func (b *board) occupied() int {
	n := 0
	for _, l := range b.lots {
		n += l.used()
	}
	return n
}

// queuedIn counts the named lot's waiting calls.
func (b *board) queuedIn(lot string) int {
	n := 0
	for _, c := range b.queue {
		if c.Lot == lot {
			n++
		}
	}
	return n
}

// apply changes the board by one event: slot events carry the slot's
// whole call, queue events the queued call, so applying one twice (a
// replay after a snapshot) is harmless.
func (b *board) apply(ev parkd.Event) {
	if ev.Seq > b.lastSeq {
		b.lastSeq = ev.Seq
	}
	if ev.Slot != "" {
		b.applySlot(ev)
		return
	}
	b.applyQueue(ev)
}

// freeing are the slot events after which the slot holds no call.
var freeing = map[parkd.EventKind]bool{
	parkd.EventRetrieved: true, parkd.EventAbandoned: true, parkd.EventHungUp: true,
	parkd.EventRecalled: true, parkd.EventForwarded: true, parkd.EventMoved: true,
}

func (b *board) applySlot(ev parkd.Event) {
	s := b.slots[ev.Slot]
	if s == nil {
		return // a slot the snapshot did not have; the next snapshot will
	}
	if ev.Version != 0 {
		s.Version = ev.Version
	}
	s.Subscribers = ev.Subscribers
	switch {
	case freeing[ev.Kind]:
		s.Call, s.State = nil, parkd.SlotFree
	case ev.Call != nil:
		c := *ev.Call
		s.Call, s.State = &c, slotStateOf(&c)
	case ev.Kind == parkd.EventParked:
		// A park always carries its call; without one, say occupied.
		s.State = parkd.SlotParked
	}
	// A call parked from the queue leaves it with a dequeued event; a
	// parked event for a call still listed there (events replayed after a
	// snapshot) must not show it twice.
	if ev.Kind == parkd.EventParked && ev.Call != nil {
		b.removeQueued(ev.Call.ID)
	}
}

// slotStateOf is the slot state a call in it implies, as the daemon
// derives it: a retrieve or transfer ringing is "retrieving", a recall
// step ringing is "recalling".
func slotStateOf(c *parkd.CallView) string {
	switch c.State {
	case parkd.CallRinging:
		return parkd.SlotRetrieving
	case parkd.CallRecalling:
		return parkd.SlotRecalling
	}
	if c.Recalling != "" {
		return parkd.SlotRecalling
	}
	return parkd.SlotParked
}

func (b *board) applyQueue(ev parkd.Event) {
	if ev.Call == nil {
		return
	}
	switch ev.Kind {
	case parkd.EventQueued:
		c := *ev.Call
		if i := b.queuedAt(c.ID); i >= 0 {
			b.queue[i] = c
		} else {
			b.queue = append(b.queue, c)
		}
		b.sortQueue()
	case parkd.EventDequeued, parkd.EventEnded, parkd.EventBridged:
		b.removeQueued(ev.Call.ID)
	case parkd.EventRinging, parkd.EventRingFailed:
		if i := b.queuedAt(ev.Call.ID); i >= 0 {
			pos := b.queue[i].Position
			b.queue[i] = *ev.Call
			b.queue[i].Position = pos
		}
	}
}

func (b *board) queuedAt(id string) int {
	return slices.IndexFunc(b.queue, func(c parkd.CallView) bool { return c.ID == id })
}

func (b *board) removeQueued(id string) {
	if i := b.queuedAt(id); i >= 0 {
		b.queue = slices.Delete(b.queue, i, i+1)
		b.renumber()
	}
}

// sortQueue orders the queue by lot, then by the daemon's position (ties,
// from replayed events, by arrival), and renumbers it.
func (b *board) sortQueue() {
	order := func(lot string) int {
		if i := b.lotIndex(lot); i >= 0 {
			return i
		}
		return len(b.lots)
	}
	slices.SortStableFunc(b.queue, func(x, y parkd.CallView) int {
		if d := order(x.Lot) - order(y.Lot); d != 0 {
			return d
		}
		if x.Position != y.Position {
			return x.Position - y.Position
		}
		return x.Since.Compare(y.Since)
	})
	b.renumber()
}

// renumber recomputes positions locally: a call that leaves moves every
// call behind it up one, with no request to the daemon.
func (b *board) renumber() {
	pos, lot := 0, "\x00"
	for i := range b.queue {
		if b.queue[i].Lot != lot {
			pos, lot = 0, b.queue[i].Lot
		}
		pos++
		b.queue[i].Position = pos
	}
}

// overdue says the slot's recall fell due and nothing rings yet: the
// call waits longer than its policy wanted.
func overdue(s *slotState, now time.Time) bool {
	return s.Call != nil && s.State == parkd.SlotParked && s.Call.RecallAt != nil && !now.Before(*s.Call.RecallAt)
}
