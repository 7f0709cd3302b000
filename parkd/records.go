package parkd

import (
	"strconv"
	"time"

	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media"
)

// newRecordLocked starts tracking an answered call under a fresh API id.
// Callers hold s.mu.
func (s *Server) newRecordLocked(call *sipcore.Call, as leg, caller sipcore.Party, l *lot) *callRecord {
	s.lastID++
	rec := &callRecord{id: "c" + strconv.FormatUint(s.lastID, 10), call: call, leg: as, caller: caller, lot: l, since: s.clock.Now()}
	s.records[call] = rec
	s.byID[rec.id] = rec
	return rec
}

// dropRecordLocked forgets an ended call. Callers hold s.mu.
func (s *Server) dropRecordLocked(rec *callRecord) {
	delete(s.records, rec.call)
	delete(s.byID, rec.id)
	if rec.peer != nil && rec.peer.peer == rec {
		rec.peer.peer = nil
	}
	rec.peer = nil
	if rec.stopOp != nil {
		rec.stopOp()
		rec.stopOp = nil
	}
}

// linkLocked records that a and b talk to each other through parkd.
// Callers hold s.mu.
func (s *Server) linkLocked(a, b *callRecord) {
	a.peer, b.peer = b, a
	s.bridged[a.call] = b.call
	s.bridged[b.call] = a.call
	for _, r := range []*callRecord{a, b} {
		r.slot, r.queued, r.lot = nil, false, nil
		r.consultUntil = time.Time{}
	}
	s.armDTMFLocked(a, b)
}

// unlinkLocked undoes linkLocked for rec and its peer, so neither's end
// hangs the other up. Callers hold s.mu.
func (s *Server) unlinkLocked(rec *callRecord) *callRecord {
	peer := rec.peer
	// Its audio stops relaying too, so it can be parked or bridged anew.
	media.Unbridge(rec.call.Media())
	delete(s.bridged, rec.call)
	s.disarmDTMFLocked(rec)
	if peer != nil {
		delete(s.bridged, peer.call)
		peer.peer = nil
		s.disarmDTMFLocked(peer)
	}
	rec.peer = nil
	return peer
}

// state is the call's state as the API shows it.
func (rec *callRecord) state() string {
	switch {
	case rec.ended:
		return CallFinished
	case rec.ringingTo != "":
		return CallRinging
	case rec.slot != nil && rec.ringing != "":
		return CallRecalling
	case rec.slot != nil:
		return CallParked
	case rec.queued:
		return CallQueued
	}
	return CallBridged
}

// position is the call's place in its lot's queue, from 1; 0 when not queued.
func (rec *callRecord) position() int {
	if !rec.queued || rec.lot == nil {
		return 0
	}
	for i, q := range rec.lot.queue {
		if q == rec {
			return i + 1
		}
	}
	return 0
}
