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
	s.parkWithParkerLocked(rec, by.party, by.verified, ParkerFromAPI,
		"transfer to "+target+" unanswered; the attendant had hung up", "transfer to "+target+" unanswered with the attendant gone")
}
