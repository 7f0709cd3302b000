package parkd

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// EventKind names what happened to a slot.
type EventKind string

const (
	EventParked    EventKind = "parked"    // a call took the slot
	EventRetrieved EventKind = "retrieved" // someone took the call out; the slot is free
	EventAbandoned EventKind = "abandoned" // the parked caller hung up; the slot is free
	EventHungUp    EventKind = "hungup"    // parkd hung the parked call up (RTP timeout, shutdown); the slot is free
	// EventSubscribers: the number of BLF subscriptions watching the slot changed.
	EventSubscribers EventKind = "subscribers"

	// The recall of a call left parked too long, step by step.
	EventRecalling    EventKind = "recalling"     // a recall step rings (the parker, the ring group, the forward target); the call stays parked
	EventRecallFailed EventKind = "recall_failed" // a recall step ended unanswered (or was skipped: parker unknown); Detail says why
	EventRecalled     EventKind = "recalled"      // the recall was answered and bridged; the slot is free
	EventReparked     EventKind = "reparked"      // every step failed and on_failure is repark: the recall timer starts again
	EventForwarded    EventKind = "forwarded"     // on_failure forward was answered and bridged; the slot is free
	// EventOverdue: a recall fell due with nobody to ring (no known parker,
	// no ring group) under on_failure repark; the call stays parked and is
	// shown overdue (CallView.Overdue) until it is taken or someone can be rung.
	EventOverdue EventKind = "overdue"
	// EventPolicy: the slot's effective policy changed (a live override).
	EventPolicy EventKind = "policy"
	// EventParker: the parker was named after the park (through the API).
	EventParker EventKind = "parker"
	// EventMoved: the call left this slot for another (Detail: "to N");
	// an EventParked on the other slot follows.
	EventMoved EventKind = "moved"

	// Calls outside slots: the attendant queue and the operations of the
	// API. Their Slot is "" unless the call is parked.
	EventQueued     EventKind = "queued"      // a call to an attendant extension joined its lot's queue
	EventDequeued   EventKind = "dequeued"    // it left the queue; Detail says how (parked in N, connected, hung up…)
	EventRinging    EventKind = "ringing"     // a retrieve or transfer rings its target (Detail) for the call
	EventRingFailed EventKind = "ring_failed" // that target did not answer; the call stays where it was
	EventBridged    EventKind = "bridged"     // the call was connected to its target (Detail) and talks through parkd
	EventEnded      EventKind = "ended"       // a queued, ringing or bridged call ended (Detail: why)

	// A reload (SIGHUP, parkd ctl reload) and what it did to slots.
	// EventReloaded has no slot: lots and slots may have come and gone,
	// take a snapshot. EventRetired: the slot left the config but keeps
	// its call until the call ends; EventRemoved: that call has left and
	// the slot is gone.
	EventReloaded EventKind = "reloaded"
	EventRetired  EventKind = "retired"
	EventRemoved  EventKind = "removed"

	// EventResync is sent alone to a subscriber whose Last-Event-ID is
	// older than the event window: its view is stale, take a snapshot.
	EventResync EventKind = "resync"
)

// Event is one change of one slot. Every consumer (BLF, the API stream, the
// store, the console) reads the same events; Version orders them per slot.
type Event struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Kind    EventKind `json:"kind"`
	Lot     string    `json:"lot"`
	Slot    string    `json:"slot"`
	Version uint64    `json:"version"`
	Call    *CallView `json:"call,omitempty"` // the call the event is about
	Detail  string    `json:"detail,omitempty"`
	// Subscribers is how many BLF subscriptions the slot's state reaches
	// (its own, its lot's, its presence_id's), after the change.
	Subscribers int `json:"subscribers"`
	// Policy is the slot's new effective policy, on EventPolicy only.
	Policy *Policy `json:"policy,omitempty"`
}

// eventBus fans events out to subscribers without letting a slow one stall
// slot changes: a subscriber whose buffer is full misses events and is told
// so by a gap in Seq.
type eventBus struct {
	mu     sync.Mutex
	seq    uint64
	sinks  []func(Event)
	subs   map[chan Event]struct{}
	strict map[chan Event]struct{} // Subscribe's: cut off, not skipped, when full
	log    *slog.Logger
	closed bool
	// window keeps the newest events, oldest first, so a client that
	// reconnects can be given what it missed.
	window     []Event
	head       int // where the next event goes once the window is full
	windowSize int
}

// DefaultEventWindow is how many past events a reconnecting subscriber
// can get.
const DefaultEventWindow = 4096

// subscriberBuffer is how far a Subscribe reader may fall behind live
// events before it is cut off: more than one policy change emits across
// a lot of 1,000 slots, so a burst alone never cuts a reader off.
const subscriberBuffer = 2048

func newEventBus(log *slog.Logger) *eventBus {
	// Sequence numbers start at the boot time in microseconds, so an id
	// from before a restart is older than this boot's window and gets a
	// resync, never events that only look like the ones it missed.
	return &eventBus{subs: map[chan Event]struct{}{}, strict: map[chan Event]struct{}{}, log: log,
		windowSize: DefaultEventWindow, seq: uint64(time.Now().UnixMicro())}
}

// last is the sequence number of the newest event.
func (b *eventBus) last() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

// missedLocked lists the window's events after seq, or ok=false when some
// of them have left the window. b.mu held.
func (b *eventBus) missedLocked(after uint64) (out []Event, ok bool) {
	if after == b.seq {
		return nil, true
	}
	if after > b.seq {
		return nil, false // from another boot, or made up
	}
	n := len(b.window)
	ordered := append(append([]Event(nil), b.window[b.head:]...), b.window[:b.head]...)
	if n == 0 || ordered[0].Seq > after+1 {
		return nil, false
	}
	for _, ev := range ordered {
		if ev.Seq > after {
			out = append(out, ev)
		}
	}
	return out, true
}

// subscribeAfter is Client.Subscribe: the missed events (or one resync),
// then live ones; a reader that falls subscriberBuffer behind is cut off
// so that it never slows a slot change.
func (b *eventBus) subscribeAfter(ctx context.Context, after uint64) <-chan Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	var first []Event
	if after > 0 {
		missed, ok := b.missedLocked(after)
		if ok {
			first = missed
		} else {
			first = []Event{{Seq: b.seq, Time: time.Now(), Kind: EventResync, Detail: "events after " + strconv.FormatUint(after, 10) + " are no longer kept: take a fresh snapshot"}}
		}
	}
	ch := make(chan Event, len(first)+subscriberBuffer)
	for _, ev := range first {
		ch <- ev
	}
	if b.closed {
		close(ch)
		return ch
	}
	b.strict[ch] = struct{}{}
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.strict[ch]; ok {
			delete(b.strict, ch)
			close(ch)
		}
	}()
	return ch
}

// subscribe returns a channel of events and a function that ends it.
func (b *eventBus) subscribe(buffer int) (<-chan Event, func()) {
	ch := make(chan Event, buffer)
	b.mu.Lock()
	if b.closed {
		close(ch)
	} else {
		b.subs[ch] = struct{}{}
	}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
	}
}

// addSink registers a consumer that must see every event, in order, and
// never block: it runs inside publish, under the slot-state lock. BLF is
// one; it only hands bodies to a fan-out.
func (b *eventBus) addSink(sink func(Event)) {
	b.mu.Lock()
	b.sinks = append(b.sinks, sink)
	b.mu.Unlock()
}

// publish stamps and sends ev; callers hold the slot-state lock so events
// leave in the order the changes happened.
func (b *eventBus) publish(ev Event) Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	ev.Seq = b.seq
	for _, sink := range b.sinks {
		sink(ev)
	}
	if len(b.window) < b.windowSize {
		b.window = append(b.window, ev)
	} else {
		b.window[b.head] = ev
		b.head = (b.head + 1) % b.windowSize
	}
	for ch := range b.strict {
		select {
		case ch <- ev:
		default:
			b.log.Warn("event subscriber fell behind: cut off; it resumes from its last event", "seq", ev.Seq)
			delete(b.strict, ch)
			close(ch)
		}
	}
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
			b.log.Warn("event subscriber is behind: event dropped", "seq", ev.Seq, "slot", ev.Slot)
		}
	}
	return ev
}

func (b *eventBus) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for ch := range b.subs {
		delete(b.subs, ch)
		close(ch)
	}
	for ch := range b.strict {
		delete(b.strict, ch)
		close(ch)
	}
}
