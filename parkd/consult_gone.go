package parkd

import (
	"time"

	"github.com/parkd/parkd/sipcore"
)

// Some phones hang up their consultation call as soon as the transferee
// accepts the REFER, so the transferee's INVITE may name a consultation
// call that has just ended. parkd remembers such a call (its dialog, slot
// and phone) for consultGoneGrace, and that INVITE parks the caller in
// the same lot, where it would have gone, instead of getting 481.

const (
	consultGoneGrace = 5 * time.Second
	maxEndedConsults = 256 // each costs ~200 bytes; a flood of hang-ups cannot grow it further
)

// endedConsult is a consultation call that hung up inside its attended-park
// window.
type endedConsult struct {
	slot     *slot
	phone    sipcore.Party // who made it: the transferor
	verified bool
	until    time.Time
}

// noteEndedConsultLocked remembers rec, a consultation call in sl that the
// phone hung up. Callers hold s.mu.
func (s *Server) noteEndedConsultLocked(rec *callRecord, sl *slot) {
	now := s.clock.Now()
	s.forgetEndedConsultsLocked(now)
	if len(s.endedConsults) >= maxEndedConsults {
		return
	}
	if s.endedOrder.full() {
		// Entries an INVITE took still hold their place in the ring until
		// the older ones ahead of them expire: drop them, or they would
		// refuse a hang-up the table has room for.
		s.endedOrder.keepOnly(func(id sipcore.DialogID) bool { _, live := s.endedConsults[id]; return live })
	}
	if s.endedConsults == nil {
		s.endedConsults = map[sipcore.DialogID]endedConsult{}
	}
	s.endedConsults[rec.call.ID] = endedConsult{slot: sl, phone: rec.caller, verified: rec.verified, until: now.Add(consultGoneGrace)}
	s.endedOrder.push(rec.call.ID)
}

// forgetEndedConsultsLocked drops the entries whose grace has run out.
// Every entry gets the same grace, so they run out in the order they were
// noted: a hang-up looks only at the oldest, not at all 256 under s.mu.
func (s *Server) forgetEndedConsultsLocked(now time.Time) {
	for id, ok := s.endedOrder.oldest(); ok; id, ok = s.endedOrder.oldest() {
		if ec, live := s.endedConsults[id]; live && now.Before(ec.until) {
			return
		}
		delete(s.endedConsults, id) // no-op when an INVITE took it already
		s.endedOrder.pop()
	}
}

// consultOrder is the ended consultation calls' dialogs, oldest first, in
// a fixed ring: no allocation per hang-up.
type consultOrder struct {
	ids        [maxEndedConsults]sipcore.DialogID
	head, size int
}

func (q *consultOrder) full() bool { return q.size == len(q.ids) }

func (q *consultOrder) push(id sipcore.DialogID) {
	q.ids[(q.head+q.size)%len(q.ids)] = id
	q.size++
}

func (q *consultOrder) oldest() (sipcore.DialogID, bool) {
	if q.size == 0 {
		return sipcore.DialogID{}, false
	}
	return q.ids[q.head], true
}

// keepOnly drops the dialogs keep refuses, keeping the others in order.
func (q *consultOrder) keepOnly(keep func(sipcore.DialogID) bool) {
	n := 0
	for i := range q.size {
		id := q.ids[(q.head+i)%len(q.ids)]
		if keep(id) {
			q.ids[(q.head+n)%len(q.ids)] = id
			n++
		}
	}
	for i := n; i < q.size; i++ {
		q.ids[(q.head+i)%len(q.ids)] = sipcore.DialogID{}
	}
	q.size = n
}

func (q *consultOrder) pop() {
	q.ids[q.head] = sipcore.DialogID{}
	q.head = (q.head + 1) % len(q.ids)
	q.size--
}

// decideEndedConsult parks inv, a transferee naming a consultation call
// that has just ended, in that call's slot or the lot's next free one.
// Only the consultation phone's Referred-By (or a verified source) counts,
// as for a live one. Callers hold s.mu.
func (s *Server) decideEndedConsult(inv *sipcore.Invite) (decision, bool) {
	r := inv.Replaces
	id := sipcore.DialogID{CallID: r.CallID, LocalTag: r.ToTag, RemoteTag: r.FromTag}
	ec, ok := s.endedConsults[id]
	if !ok || !s.clock.Now().Before(ec.until) || inv.ReferredBy == nil {
		return decision{}, false
	}
	if !inv.Identity.Verified() && !sameUserHost(inv.ReferredBy.URI, ec.phone.URI) {
		return decision{}, false
	}
	delete(s.endedConsults, id)
	sl := ec.slot
	if !sl.free() {
		if sl = s.parkingLot(sl.lot).findFree(); sl == nil {
			return reject(486, "Busy Here", "lot %s is full", ec.slot.lot.cfg.Name), true
		}
	}
	sl.reserved = true
	return decision{park: sl}, true
}
