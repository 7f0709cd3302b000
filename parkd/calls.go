package parkd

import (
	"context"
	"errors"
	"time"

	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media"
)

// hangupTimeout bounds a BYE parkd sends while tearing a bridge down.
const hangupTimeout = 5 * time.Second

// park answers inv into the reserved slot sl and starts music on hold.
func (s *Server) park(ctx context.Context, inv *sipcore.Invite, sl *slot, l *lot) {
	log := inv.Log.With("slot", sl.name, "lot", l.cfg.Name)
	if delay := l.cfg.AnswerDelay.D(); delay > 0 {
		if err := inv.Ring(); err != nil {
			log.Debug("sending 180 failed", "error", err)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
	}
	call, err := inv.Answer()
	if err != nil {
		s.release(sl)
		if errors.Is(err, sipcore.ErrCanceled) {
			log.Info("caller canceled before the park was answered")
		} else {
			log.Error("answering the park failed", "error", err)
		}
		return
	}
	call.SetLogger(log)
	parker, parkerFrom := s.parkerOf(inv)

	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-call.Done(): // hung up before it could take the slot
		s.releaseLocked(sl)
		return
	default:
	}
	rec := s.newRecordLocked(call, legCaller, inv.From, sl.lot)
	rec.verified = inv.Identity.Verified()
	rec.parker, rec.parkerFrom = parker, parkerFrom
	rec.parkerUnresolvable = parkerFrom != "" && s.unresolvableParker(inv, parker)
	rec.parkerMayBeTold = parkerFrom != "" && parkerIsSenderOrVouched(inv, parker)
	if rec.parkerUnresolvable {
		log.Warn("call parked; the parker's host is a name from an untrusted source, which parkd does not resolve: a recall skips to the ring group (list the PBX in sip.trusted or set sip.outbound_proxy)",
			"caller", inv.From.String(), "parker", parker.URI, "parker_from", parkerFrom)
	} else if parkerFrom == "" {
		log.Info("call parked; parker unknown, a recall skips to the ring group", "caller", inv.From.String())
	} else {
		log.Info("call parked", "caller", inv.From.String(), "parker", parker.URI, "parker_from", parkerFrom)
	}
	var hear *media.Clip
	if parkerFrom == "" {
		// It called the park extension itself: perhaps the consultation
		// call of an attended park, which needs to hear its slot.
		hear = s.startConsultLocked(sl, rec)
	}
	s.placeHearingLocked(sl, rec, "", hear)
	s.notifyParkerLocked(sl, rec)
}

// placeLocked puts rec into the reserved or free slot sl with music on
// hold and starts its recall timer. Callers hold s.mu.
func (s *Server) placeLocked(sl *slot, rec *callRecord, detail string) {
	s.placeHearingLocked(sl, rec, detail, nil)
}

// parkWithParkerLocked parks rec, a call left with nobody to talk to, in
// a free slot of its lot with parker as its parker (from says how parkd
// knows it), or hangs it up when the lot is full (why says what failed).
// Callers hold s.mu.
func (s *Server) parkWithParkerLocked(rec *callRecord, parker sipcore.Party, verified bool, from, detail, why string) {
	l := s.parkingLot(rec.homeLot)
	sl := l.findFree()
	if sl == nil {
		rec.hangupWhy = why + " and lot " + l.cfg.Name + " is full"
		go s.hangUp(rec, rec.hangupWhy)
		return
	}
	rec.call.SetLogger(rec.call.Logger().With("slot", sl.name, "lot", sl.lot.cfg.Name))
	rec.call.Logger().Info("left alone: parked", "parker", parker.URI, "why", why)
	s.placeWithParkerLocked(sl, rec, parker, verified, from, detail)
}

// placeWithParkerLocked parks rec in sl, a free slot, with parker as its
// parker: from says how parkd knows it, verified whether its source was
// trusted (a name from an untrusted one is never looked up for a recall).
// Callers hold s.mu.
func (s *Server) placeWithParkerLocked(sl *slot, rec *callRecord, parker sipcore.Party, verified bool, from, detail string) {
	rec.parker, rec.parkerFrom = parker, from
	rec.parkerUnresolvable = s.unresolvableName(verified, parker)
	s.placeLocked(sl, rec, detail)
}

// placeHearingLocked is placeLocked with clip played before the music
// (nil: music at once).
func (s *Server) placeHearingLocked(sl *slot, rec *callRecord, detail string, clip *media.Clip) {
	sl.reserved = false
	sl.parked = rec
	rec.slot, rec.lot, rec.queued = sl, sl.lot, false
	rec.recallDeferred, rec.overdue = false, false // a new stay in a slot starts its own recall
	if rec.parkedAt.IsZero() {
		rec.parkedAt = s.clock.Now()
	}
	rec.homeLot = sl.lot
	sl.lot.lastUsed = sl.index
	if !sl.retired {
		sl.lot.waiting.add(sl)
	}
	s.inSlot[rec.call] = sl
	if clip != nil {
		s.announceLocked(rec, clip)
	} else {
		s.music.source().Add(rec.call.Media())
	}
	s.armRecallLocked(sl, rec)
	s.emit(EventParked, sl, rec, detail)
}

// retrieve answers inv and, once the retriever's ACK confirms the call,
// bridges it to the call claimed from sl (see awaitRetrieveAck).
func (s *Server) retrieve(inv *sipcore.Invite, d decision, l *lot) {
	sl, pc := d.retrieve, d.parked
	log := inv.Log.With("slot", sl.name, "lot", l.cfg.Name, "parked_call_id", pc.call.ID.CallID)
	call, err := inv.Answer()

	s.mu.Lock()
	if err != nil {
		sl.retrieving = false
		s.resumeOverdueLocked(sl, pc)
		s.mu.Unlock()
		log.Info("retrieve not answered; the call stays parked", "error", err)
		return
	}
	call.SetLogger(log)
	who := retriever{Party: inv.From, verified: inv.Identity.Verified(), byReplaces: inv.Replaces != nil, ofConsult: d.ofConsult}
	if sl.parked != pc { // the parked caller hung up meanwhile
		parked := s.parkPickerInsteadLocked(sl, pc, call, who)
		s.mu.Unlock()
		if parked {
			return
		}
		log.Info("parked caller left before the retrieve was answered")
		call.Hangup(context.Background(), "the parked caller hung up")
		return
	}
	// A recall ringing now stops (its branches get CANCEL); should the
	// retrieve fail, the recall resumes with a new round.
	s.pauseRingingRecallLocked(sl, pc)
	s.mu.Unlock()
	go s.awaitRetrieveAck(sl, pc, call, who, log)
}

// takeOutLocked frees the slot of its call, which leaves it (bridged,
// moved, hung up). Callers hold s.mu.
func (s *Server) takeOutLocked(sl *slot, rec *callRecord) {
	sl.lot.waiting.remove(sl)
	sl.parked = nil
	sl.retrieving = false // an empty slot is being picked up by nobody
	delete(s.inSlot, rec.call)
	rec.slot = nil
}

// CallEnded frees the slot or queue place of a call that ended, or hangs
// up the other leg of a bridge.
func (s *Server) CallEnded(call *sipcore.Call, reason sipcore.EndReason) {
	s.mu.Lock()
	rec := s.records[call]
	if rec != nil {
		rec.ended = true
	}
	detail := string(reason)
	if rec != nil && rec.hangupWhy != "" && reason != sipcore.EndRemoteBye {
		detail = rec.hangupWhy
	}
	// The other leg's BYE and the log name this leg for what it is.
	peerWhy := "the other party hung up"
	if rec != nil {
		who := s.legNameLocked(rec)
		peerWhy = "the " + who + " hung up"
		if reason == sipcore.EndRemoteBye {
			call.Logger().Info(peerWhy, "leg", who)
		} else {
			peerWhy = "the " + who + "'s leg ended: " + detail
		}
	}
	if sl, ok := s.inSlot[call]; ok {
		pc := sl.parked
		if reason == sipcore.EndRemoteBye && s.consultingLocked(pc) {
			s.noteEndedConsultLocked(pc, sl)
		}
		pc.stopRecallLocked()
		s.takeOutLocked(sl, pc)
		kind := EventHungUp
		if reason == sipcore.EndRemoteBye {
			kind = EventAbandoned
		}
		call.Logger().Info("parked call ended; slot freed", "reason", reason, "detail", detail)
		s.emit(kind, sl, pc, detail)
	} else if rec != nil && rec.queued {
		s.dequeueLocked(rec, "ended: "+detail)
	} else if rec != nil {
		s.emitCall(EventEnded, rec, detail)
	}
	peer, wasBridged := s.bridged[call]
	if wasBridged && rec != nil && reason == sipcore.EndRemoteBye && s.parkInsteadLocked(rec) {
		wasBridged = false // its peer waits in a slot instead of being hung up
	}
	if wasBridged && rec != nil && s.keepTransferringLocked(rec) {
		wasBridged = false // its peer hears music while its transfer rings
	}
	delete(s.bridged, call)
	delete(s.bridged, peer)
	if rec != nil {
		s.dropRecordLocked(rec)
	}
	s.mu.Unlock()
	if wasBridged {
		go func() {
			sipcore.YieldToNewCalls() // the BYE can wait while INVITEs are answered
			ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
			defer cancel()
			peer.Hangup(ctx, peerWhy)
		}()
	}
}

func (s *Server) release(sl *slot) {
	s.mu.Lock()
	s.releaseLocked(sl)
	s.mu.Unlock()
}

func (s *Server) releaseLocked(sl *slot) {
	sl.reserved = false
	s.dropRetiredLocked(sl)
}

// emit bumps the slot's version and publishes the change; callers hold s.mu.
func (s *Server) emit(kind EventKind, sl *slot, pc *callRecord, detail string) {
	s.publish(Event{Kind: kind, Call: pc.view(), Detail: detail}, sl)
	s.dropRetiredLocked(sl)
}

// emitPolicy publishes a slot's new effective policy; callers hold s.mu.
func (s *Server) emitPolicy(sl *slot, p *Policy) {
	s.publish(Event{Kind: EventPolicy, Call: sl.parked.view(), Policy: p}, sl)
}

// emitCall publishes a change of a call outside any slot (the queue, an
// API operation, a bridge); callers hold s.mu.
func (s *Server) emitCall(kind EventKind, rec *callRecord, detail string) {
	ev := Event{Kind: kind, Call: rec.view(), Detail: detail, Time: s.clock.Now()}
	if rec.lot != nil {
		ev.Lot = rec.lot.cfg.Name
	}
	s.events.publish(ev)
}

func (s *Server) publish(ev Event, sl *slot) {
	sl.version++
	ev.Time, ev.Lot, ev.Slot, ev.Version, ev.Subscribers = s.clock.Now(), sl.lot.cfg.Name, sl.name, sl.version, sl.watchers
	s.events.publish(ev)
}
