package parkd

import (
	"context"
	"time"

	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media"
)

// ParkerFromAttended is CallView.ParkerFrom for a call parked by attended
// transfer: the parker is the phone whose consultation call it replaced.
const ParkerFromAttended = "attended transfer"

// An attended park, as phones do it: the phone puts its caller on hold and
// calls the park extension itself (the consultation call). parkd answers,
// parks that call and speaks the slot; the phone then completes the
// transfer, and its caller arrives with an INVITE whose Replaces names the
// consultation call. That caller takes the slot and the consultation leg
// is hung up. If no such INVITE comes within the lot's attended_timeout,
// the consultation call simply stays parked, as a call that parked itself.

// startConsultLocked opens the attended-park window of a call that
// dialled the park extension itself and returns what it must hear first:
// its slot (nil when the lot announces nothing). Callers hold s.mu.
func (s *Server) startConsultLocked(sl *slot, rec *callRecord) *media.Clip {
	l := sl.lot
	rec.consultUntil = s.clock.Now().Add(l.cfg.AttendedTimeoutOrDefault())
	if !l.cfg.AnnouncesSlot() {
		return nil
	}
	return s.promptsOf(l).ParkedOn(sl.name)
}

// consultingLocked reports whether rec may still be replaced by the caller
// of an attended park. Callers hold s.mu.
func (s *Server) consultingLocked(rec *callRecord) bool {
	return rec != nil && !rec.consultUntil.IsZero() && s.clock.Now().Before(rec.consultUntil)
}

// decideAttended claims the consultation call's slot for the INVITE that
// replaces it, so a pickup or a second Replaces cannot race for it.
func (s *Server) decideAttended(sl *slot) decision {
	if sl.retrieving {
		return reject(486, "Busy Here", "slot %s is being picked up", sl.name)
	}
	sl.retrieving = true
	return decision{replace: sl, parked: sl.parked}
}

// completeAttendedPark answers the transferred caller, puts it in the slot
// the consultation call held and hangs the consultation call up.
func (s *Server) completeAttendedPark(inv *sipcore.Invite, sl *slot, consult *callRecord, l *lot) {
	log := inv.Log.With("slot", sl.name, "lot", l.cfg.Name, "consultation_call_id", consult.call.ID.CallID)
	call, err := inv.Answer()

	s.mu.Lock()
	defer s.mu.Unlock()
	sl.retrieving = false
	if err != nil {
		s.resumeOverdueLocked(sl, consult)
		log.Info("attended park not answered; the consultation call stays parked", "error", err)
		return
	}
	call.SetLogger(log)
	select {
	case <-call.Done(): // hung up as it was answered: nothing to park
		s.resumeOverdueLocked(sl, consult)
		log.Info("the transferred caller hung up as it was answered; the consultation call stays parked")
		return
	default:
	}
	rec := s.newRecordLocked(call, legCaller, inv.From, sl.lot)
	rec.verified = inv.Identity.Verified()
	rec.parker, rec.parkerFrom = consult.caller, ParkerFromAttended
	rec.parkerUnresolvable = s.unresolvableName(consult.verified, consult.caller)
	target := sl
	if sl.parked == consult {
		consult.stopRecallLocked()
		s.takeOutLocked(sl, consult)
		consult.consultUntil = time.Time{}
		consult.hangupWhy = "attended park completed: the transferred caller took the slot"
		go s.hangUp(consult, consult.hangupWhy)
	} else if !sl.free() {
		// The consultation call left and someone else parked here
		// meanwhile: the transferred caller still gets a slot if any is free.
		target = s.parkingLot(sl.lot).findFree()
	}
	if target == nil {
		log.Warn("attended park: the consultation call is gone and lot is full; hanging up the transferred caller")
		go call.Hangup(context.Background(), "lot full")
		return
	}
	log.Info("attended park completed", "caller", inv.From.String(), "parker", consult.caller.URI)
	s.placeLocked(target, rec, "attended park by "+consult.caller.URI)
}

// A transferee whose INVITE lacks the Referred-By that would mark it as
// one (a phone whose REFER carried none) looks like a BLF pickup of the
// consultation call, and is bridged to it. Its transferor then hangs the
// consultation call up, believing the transfer done: rather than lose the
// caller with it, parkd parks the caller in the lot, the transferor as
// parker. A transferor hangs up at once (on the transfer's final NOTIFY);
// a real pickup talks longer, so only an end within transferorGrace of
// the pickup counts, and a short real pickup parked by mistake loses
// nothing: its phone may hang up too.

// transferorGrace is how soon after the pickup the consultation call must
// end for its peer to be parked instead of hung up.
const transferorGrace = 10 * time.Second

// markConsultPickupLocked notes that pc, still in its attended-park window,
// is being taken out by a pickup. Callers hold s.mu.
func (s *Server) markConsultPickupLocked(pc *callRecord) {
	if s.consultingLocked(pc) {
		pc.parkPeerUntil = s.clock.Now().Add(transferorGrace)
	}
}

// parkInsteadLocked parks the bridge peer of rec, a consultation call
// that was picked up and has now hung up, and reports whether it did.
// Callers hold s.mu.
func (s *Server) parkInsteadLocked(rec *callRecord) bool {
	peer := rec.peer
	if !s.clock.Now().Before(rec.parkPeerUntil) || peer == nil || peer.ended || peer.hangupWhy != "" || s.stopping || rec.homeLot == nil {
		return false
	}
	sl := s.parkingLot(rec.homeLot).findFree()
	if sl == nil {
		return false
	}
	s.unlinkLocked(rec)
	peer.call.SetLogger(peer.call.Logger().With("slot", sl.name, "lot", sl.lot.cfg.Name))
	peer.call.Logger().Info("the consultation call it picked up hung up: parked as an attended park", "parker", rec.caller.URI)
	s.placeWithParkerLocked(sl, peer, rec.caller, rec.verified, ParkerFromAttended, "attended park by "+rec.caller.URI+" (no Referred-By)")
	return true
}

// parkPickerInsteadLocked is parkInsteadLocked for a pickup not bridged
// yet: call picked up pc by Replaces, and pc, a consultation call, was
// hung up by its transferor (BYE) before the pickup's ACK made the
// bridge. call is then the transferee; it is parked in pc's slot (or the
// lot's next free one), the transferor as parker, instead of hung up.
// Reports whether it did. Callers hold s.mu.
func (s *Server) parkPickerInsteadLocked(sl *slot, pc *callRecord, call *sipcore.Call, who retriever) bool {
	if !who.ofConsult || pc.call.Ended() != sipcore.EndRemoteBye || s.stopping || leftAtOnce(call) {
		return false
	}
	if sl.parked == pc { // its end is not handled yet: the slot goes to call
		pc.stopRecallLocked()
		s.takeOutLocked(sl, pc)
	}
	target := sl
	if !target.free() {
		target = s.parkingLot(sl.lot).findFree()
	}
	if target == nil {
		return false
	}
	rec := s.newRecordLocked(call, legCaller, who.Party, target.lot)
	rec.verified = who.verified
	call.Logger().Info("the consultation call it picked up hung up first: parked as an attended park", "parker", pc.caller.URI)
	s.placeWithParkerLocked(target, rec, pc.caller, pc.verified, ParkerFromAttended, "attended park by "+pc.caller.URI+" (no Referred-By)")
	return true
}
