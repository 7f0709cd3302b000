package parkd

import (
	"context"
	"time"

	"github.com/parkd/parkd/parkd/config"
	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media/prompts"
)

// lot is a parking lot: a park extension and a range of numbered slots.
// Its configuration never changes: a reload builds new lots and moves the
// slots that stay into them, so a lot read under Server.mu may be used
// after the lock is let go.
type lot struct {
	index      int     // in conf.Lots
	conf       *Config // the configuration it was built from, for its policy layers
	cfg        LotConfig
	slotAction string    // slot_action, or the kazoo: object's action
	fixedSlot  *slot     // where the park extension parks (Kazoo's slot); nil = find one
	kazoo      KazooPark // its kazoo: object, mapped once
	slots      []*slot   // in number order
	lastUsed   int       // index of the slot parked into last, for find_slot: next
	waiting    waitList  // its occupied slots, longest waiting first
	queue      []*callRecord
	answering  int          // attendant calls being answered, counted against queue_max
	prompts    *prompts.Set // the built-in prompts with the lot's own WAVs in their place
}

// slot is one parking position. Its state changes only through Server's
// slot methods, under Server.mu.
type slot struct {
	lot        *lot
	name       string
	index      int // in lot.slots
	version    uint64
	reserved   bool // a park into it is being answered
	retrieving bool // its parked call is being answered to a retriever
	parked     *callRecord
	watchers   int      // BLF subscriptions its changes reach
	wait       waitLink // its place in lot.waiting while it holds a call
	// retired: a reload removed it from the configuration while it held a
	// call; it keeps the call (retrievable, recalled as before) and goes
	// when the call leaves (reload.go).
	retired bool
	// policy is its effective policy as of policyGen (policyLocked):
	// merging the layers walks them by reflection, and every park and
	// recall asks for it.
	policy    Policy
	policyGen uint64
}

// callRecord is a call parkd handles: queued, parked, or bridged through
// parkd. Its fields change under Server.mu.
type callRecord struct {
	id         string // the API's id
	call       *sipcore.Call
	caller     sipcore.Party
	leg        leg // how it came to parkd
	parker     sipcore.Party
	parkerFrom string // how the parker was learned; "" = unknown
	// parkerUnresolvable: the parker's host is a name that an untrusted
	// source gave; parkd does not look it up, so a recall cannot ring it.
	parkerUnresolvable bool
	// parkerMayBeTold: a MESSAGE to the parker goes to the sender of the
	// park or to someone a trusted or authenticated source named, never to
	// a third party a stranger picked (a reflection).
	parkerMayBeTold bool
	lot             *lot  // the lot it is queued or parked in (nil once bridged)
	slot            *slot // the slot it is parked in; nil when not parked
	since           time.Time
	parkedAt        time.Time

	queued     bool  // waiting in lot.queue
	queueTimer Timer // queue_timeout
	peer       *callRecord
	ended      bool // its leg is gone; the record is about to be dropped
	// ringingTo is the target an API retrieve or transfer is ringing
	// for the call; stopOp ends that ringing.
	ringingTo string
	stopOp    context.CancelFunc
	// recallAfter is the call's own recall time (API park), over policy.
	recallAfter *Duration
	recallAt    time.Time

	recallTimer Timer              // recall_after, while waiting for it
	stopRinging context.CancelFunc // ends the recall round in progress
	ringing     string             // the recall step ringing now
	recalls     int                // recall rounds started
	// recallDeferred: the recall fell due while a retrieve was being
	// answered; it runs if the retrieve fails.
	recallDeferred bool
	// overdue: a recall fell due with nobody to ring (no parker known, no
	// ring group); the call waits, shown overdue, until someone takes it.
	overdue   bool
	hangupWhy string // why parkd hangs it up, for the event

	// consultUntil: the call dialled the park extension itself, so it may
	// be the consultation call of an attended park; until then an INVITE
	// whose Replaces names it takes its slot (attended.go).
	consultUntil time.Time
	// parkPeerUntil: it was picked up inside that window, perhaps by a
	// transferee that sent no Referred-By; if it hangs up before then, its
	// peer is parked rather than hung up (attended.go).
	parkPeerUntil time.Time
	// orphanedBy: its bridge peer hung up while an attendant's transfer of
	// it rang (transfer_orphan.go); if nobody answers, it is parked with
	// that party as parker. Zero otherwise.
	orphanedBy *orphanedBy
	// homeLot is the lot it last waited in; it stays set once bridged, so
	// the bridge knows whose park_dtmf and prompts apply.
	homeLot *lot
	// verified: its leg is from a trusted or authenticated source, or
	// parkd placed it; only then may a REFER send parkd to another host.
	verified bool
	dtmf     *dtmfMatcher // park_dtmf watch while bridged; nil when off
}

func newLot(conf *Config, index int) *lot {
	cfg := conf.Lots[index]
	l := &lot{index: index, conf: conf, cfg: cfg, lastUsed: -1, kazoo: cfg.MappedKazoo(config.LotKey(index))}
	action, fixed, names := cfg.ParkSettings(l.kazoo)
	l.slotAction = action
	for _, name := range names {
		sl := &slot{lot: l, name: name, index: len(l.slots)}
		l.slots = append(l.slots, sl)
		if name == fixed {
			l.fixedSlot = sl
		}
	}
	return l
}

// free: a new call may be parked in it. A retired slot never is.
func (s *slot) free() bool { return s.parked == nil && !s.reserved && !s.retired }

// empty: it holds no call and none is on its way in.
func (s *slot) empty() bool { return s.parked == nil && !s.reserved }

// findFree picks a free slot: the lowest (find_slot: first) or the one after
// the slot used last, wrapping (find_slot: next), like Asterisk's findslot.
func (l *lot) findFree() *slot {
	n := len(l.slots)
	start := 0
	if l.cfg.FindSlot == "next" {
		start = l.lastUsed + 1
	}
	for i := 0; i < n; i++ {
		s := l.slots[(start+i)%n]
		if s.free() {
			return s
		}
	}
	return nil
}
