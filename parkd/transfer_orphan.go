package parkd

import "github.com/parkd/parkd/sipcore"

// orphanedBy is the leg that hung up on a call whose transfer rang.
type orphanedBy struct {
	party    sipcore.Party
	verified bool
}

// An attendant who transfers the call she is talking to (Server.Transfer)
// stays bridged to it while the target rings, and may hang up meanwhile:
// a receptionist puts her handset down once she has clicked "transfer".
// That must not take the caller with her. The caller hears music while
// the target rings; whoever answers gets it, and if nobody does it is
// parked in its lot with the attendant as parker, so a recall brings it
// back to her.

// keepTransferringLocked takes the bridge peer of rec, a leg that has
// just ended, off the bridge when an attendant's transfer of that peer is
// ringing, and reports whether it did. Callers hold s.mu.
func (s *Server) keepTransferringLocked(rec *callRecord) bool {
	peer := rec.peer
	if peer == nil || peer.ringingTo == "" || peer.slot != nil || peer.queued || peer.ended || peer.hangupWhy != "" || s.stopping {
		return false
	}
	s.unlinkLocked(rec)
	peer.orphanedBy = &orphanedBy{party: rec.caller, verified: rec.verified}
	s.music.source().Add(peer.call.Media())
	peer.call.Logger().Info("the other party hung up while the transfer rings: music until it is answered", "connect_to", peer.ringingTo, "other_party", rec.caller.URI)
	return true
}

// parkOrphanLocked parks rec, left alone by keepTransferringLocked, once
// its transfer went unanswered: in a free slot of its lot, else it is hung
// up. Callers hold s.mu.
func (s *Server) parkOrphanLocked(rec *callRecord, target string) {
	by := rec.orphanedBy
	rec.orphanedBy = nil
	if by == nil || rec.peer != nil || rec.slot != nil || rec.queued || rec.ended || rec.hangupWhy != "" || s.stopping {
		return
	}
	l := s.parkingLot(rec.homeLot)
	sl := l.findFree()
	if sl == nil {
		rec.hangupWhy = "transfer to " + target + " unanswered, the attendant gone and lot " + l.cfg.Name + " full"
		go s.hangUp(rec, rec.hangupWhy)
		return
	}
	rec.parker, rec.parkerFrom = by.party, ParkerFromAPI
	rec.parkerUnresolvable = s.unresolvableName(by.verified, by.party)
	rec.call.SetLogger(rec.call.Logger().With("slot", sl.name, "lot", sl.lot.cfg.Name))
	rec.call.Logger().Info("transfer unanswered and the attendant gone: parked", "parker", by.party.URI)
	s.placeLocked(sl, rec, "transfer to "+target+" unanswered; the attendant had hung up")
}
