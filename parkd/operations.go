package parkd

import (
	"context"

	"github.com/parkd/parkd/parkd/config"
	"github.com/parkd/parkd/sipcore"
)

// HangupByAttendant is the reason an API hangup gives in its BYE.
const HangupByAttendant = "hung up by the attendant"

// Park puts a queued or bridged call into a slot (Client.Park).
func (s *Server) Park(ctx context.Context, id string, req ParkRequest) (CallView, error) {
	if req.RecallAfter != nil {
		if d := req.RecallAfter.D(); d < config.MinRecallAfter || d > config.MaxRecallAfter {
			return CallView{}, fieldError("recall_after", "%s is outside %s–%s", req.RecallAfter, Duration(config.MinRecallAfter), Duration(config.MaxRecallAfter))
		}
	}
	var parker sipcore.Party
	if req.Parker != "" {
		p, ok := sipcore.ParseNameAddr(req.Parker)
		if config.CheckSIPURI(p.URI) != nil || !ok {
			return CallView{}, fieldError("parker", "%q is not a SIP URI", req.Parker)
		}
		if s.isOwnAddress(p.URI) {
			return CallView{}, fieldError("parker", "%q is parkd's own address: a recall there would come straight back", req.Parker)
		}
		parker = p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return CallView{}, errorf(CodeUnavailable, "parkd is shutting down")
	}
	rec, err := s.liveRecordLocked(id)
	if err != nil {
		return CallView{}, err
	}
	switch {
	case rec.slot != nil:
		return CallView{}, errorf(CodeInvalidState, "call %s is parked in %s already; move it instead", id, rec.slot.name)
	case rec.ringingTo != "":
		return CallView{}, errorf(CodeInvalidState, "call %s is ringing %s; wait or hang up", id, rec.ringingTo)
	}
	sl, err := s.parkTargetLocked(rec, req)
	if err != nil {
		return CallView{}, err
	}
	log := rec.call.Logger().With("slot", sl.name, "lot", sl.lot.cfg.Name)
	if rec.queued {
		s.dequeueLocked(rec, "parked in "+sl.name)
	} else if peer := s.unlinkLocked(rec); peer != nil {
		// The attendant parks the caller and leaves: the other leg ends.
		peer.hangupWhy = "the call was parked in " + sl.name
		go s.hangUp(peer, peer.hangupWhy)
	}
	if parker.URI != "" {
		rec.parker, rec.parkerFrom, rec.parkerUnresolvable = parker, ParkerFromAPI, false
	}
	rec.recallAfter = req.RecallAfter
	rec.call.SetLogger(log)
	log.Info("call parked by the attendant", "call", id)
	s.placeLocked(sl, rec, "parked by the attendant")
	return *rec.view(), nil
}

// parkTargetLocked picks the slot Park uses and reserves nothing: the
// caller places the call at once. Callers hold s.mu.
func (s *Server) parkTargetLocked(rec *callRecord, req ParkRequest) (*slot, error) {
	var l *lot
	if req.Lot != "" {
		var ok bool
		if l, ok = s.byLot[req.Lot]; !ok {
			return nil, errorf(CodeNoSuchLot, "no lot %q", req.Lot)
		}
	}
	if req.Slot != "" {
		sl, ok := s.bySlot[req.Slot]
		switch {
		case !ok:
			return nil, errorf(CodeNoSuchSlot, "no slot %q", req.Slot)
		case l != nil && sl.lot != l:
			return nil, fieldError("slot", "slot %s is not in lot %s", req.Slot, l.cfg.Name)
		case !sl.free():
			return nil, errorf(CodeSlotFull, "slot %s is occupied", req.Slot)
		}
		return sl, nil
	}
	if l == nil {
		l = s.parkingLot(rec.lot) // its lot as the config has it now, else the first
	}
	if l.fixedSlot != nil {
		if l.fixedSlot.free() {
			return l.fixedSlot, nil
		}
	} else if sl := l.findFree(); sl != nil {
		return sl, nil
	}
	return nil, errorf(CodeLotFull, "lot %s has no free slot", l.cfg.Name)
}

// Retrieve rings req.To, or the lot's operator, for the call in slot
// (Client.Retrieve).
func (s *Server) Retrieve(ctx context.Context, slot string, req RetrieveRequest) (SlotView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl, err := s.occupiedLocked(slot)
	if err != nil {
		return SlotView{}, err
	}
	target, err := s.targetLocked(req.To, sl.lot)
	if err != nil {
		return SlotView{}, err
	}
	rec := sl.parked
	sl.retrieving = true
	s.pauseRingingRecallLocked(sl, rec)
	s.connectLocked(rec, target, nil)
	return sl.viewLocked(), nil
}

// Move puts the call parked in slot into the free slot to (Client.Move).
// The call keeps its parked time and recall count; its recall timer
// starts again under the new slot's policy.
func (s *Server) Move(ctx context.Context, slot, to string) (SlotView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	src, err := s.occupiedLocked(slot)
	if err != nil {
		return SlotView{}, err
	}
	dst, ok := s.bySlot[to]
	switch {
	case to == "":
		return SlotView{}, fieldError("to", "the slot to move to is missing")
	case !ok:
		return SlotView{}, errorf(CodeNoSuchSlot, "no slot %q", to)
	case dst == src:
		return SlotView{}, fieldError("to", "the call is in slot %s already", to)
	case !dst.free():
		return SlotView{}, errorf(CodeSlotFull, "slot %s is occupied", to)
	}
	rec := src.parked
	rec.stopRecallLocked()
	s.takeOutLocked(src, rec)
	s.emit(EventMoved, src, rec, "to "+to)
	rec.call.SetLogger(rec.call.Logger().With("slot", to, "lot", dst.lot.cfg.Name))
	rec.call.Logger().Info("call moved by the attendant", "from", slot)
	s.placeLocked(dst, rec, "moved from "+slot)
	return dst.viewLocked(), nil
}

// Transfer rings to, or the lot's operator, and bridges the call to
// whoever answers (Client.Transfer).
func (s *Server) Transfer(ctx context.Context, id, to string) (CallView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return CallView{}, errorf(CodeUnavailable, "parkd is shutting down")
	}
	rec, err := s.liveRecordLocked(id)
	if err != nil {
		return CallView{}, err
	}
	if rec.ringingTo != "" {
		return CallView{}, errorf(CodeInvalidState, "call %s is ringing %s already", id, rec.ringingTo)
	}
	target, err := s.targetLocked(to, rec.lot)
	if err != nil {
		return CallView{}, err
	}
	if sl := rec.slot; sl != nil {
		if sl.retrieving {
			return CallView{}, errorf(CodeInvalidState, "slot %s is being picked up", sl.name)
		}
		sl.retrieving = true
		s.pauseRingingRecallLocked(sl, rec)
	}
	s.connectLocked(rec, target, nil)
	return *rec.view(), nil
}

// Hangup sends the call a BYE (Client.Hangup). The view it returns is the
// call as it was; an event follows when the call has ended.
func (s *Server) Hangup(ctx context.Context, id string) (CallView, error) {
	s.mu.Lock()
	rec, err := s.recordLocked(id)
	if err != nil {
		s.mu.Unlock()
		return CallView{}, err
	}
	if rec.stopOp != nil {
		rec.stopOp()
	}
	if rec.slot != nil {
		rec.stopRecallLocked()
	}
	rec.hangupWhy = HangupByAttendant
	v := *rec.view()
	s.mu.Unlock()
	rec.call.Logger().Info("hanging up for the attendant", "call", id)
	go s.hangUp(rec, HangupByAttendant)
	return v, nil
}

// recordLocked finds a live call by API id. Callers hold s.mu.
func (s *Server) recordLocked(id string) (*callRecord, error) {
	rec, ok := s.byID[id]
	if !ok || rec.ended {
		return nil, errorf(CodeNoSuchCall, "no call %q", id)
	}
	return rec, nil
}

// liveRecordLocked is recordLocked for an operation that gives the call
// somewhere to go: a leg parkd is already hanging up (a referrer whose
// transfer is done, a keypad parker hearing its slot) cannot take one.
func (s *Server) liveRecordLocked(id string) (*callRecord, error) {
	rec, err := s.recordLocked(id)
	if err == nil && rec.hangupWhy != "" {
		return nil, errorf(CodeInvalidState, "call %s is being hung up: %s", id, rec.hangupWhy)
	}
	return rec, err
}

// occupiedLocked finds a slot whose call an operation may take. Callers
// hold s.mu.
func (s *Server) occupiedLocked(slot string) (*slot, error) {
	sl, ok := s.bySlot[slot]
	switch {
	case !ok:
		return nil, errorf(CodeNoSuchSlot, "no slot %q", slot)
	case sl.parked == nil:
		return nil, errorf(CodeSlotEmpty, "slot %s holds no call", slot)
	case sl.retrieving:
		return nil, errorf(CodeInvalidState, "slot %s is being picked up", slot)
	case s.stopping:
		return nil, errorf(CodeUnavailable, "parkd is shutting down")
	}
	return sl, nil
}

// targetLocked is where an attendant operation rings: to, else the lot's
// operator. Callers hold s.mu.
func (s *Server) targetLocked(to string, l *lot) (string, error) {
	if to == "" && l != nil {
		to = l.cfg.Operator
	}
	if to == "" {
		return "", fieldError("to", "no target given and the lot has no operator")
	}
	if err := config.CheckSIPURI(to); err != nil {
		return "", fieldError("to", "%v", err)
	}
	return to, nil
}

// Bridge connects the call id to the call parked in slotName, or to the call
// that has waited longest when slotName is "" (valet_park's
// bridge). The call's present peer, if any, is hung up: the attendant
// leaves that conversation for the parked one.
func (s *Server) Bridge(ctx context.Context, id, slotName string) (CallView, error) {
	s.mu.Lock()
	rec, err := s.liveRecordLocked(id)
	if err != nil {
		s.mu.Unlock()
		return CallView{}, err
	}
	var sl *slot
	if slotName != "" {
		if sl, err = s.occupiedLocked(slotName); err != nil {
			s.mu.Unlock()
			return CallView{}, err
		}
	} else {
		for _, l := range s.lots {
			if cand := l.longestWaiting(); cand != nil && (sl == nil || cand.parked.parkedAt.Before(sl.parked.parkedAt)) {
				sl = cand
			}
		}
		if sl == nil {
			s.mu.Unlock()
			return CallView{}, errorf(CodeSlotEmpty, "no call is parked")
		}
	}
	parked := sl.parked
	switch {
	case parked == rec:
		s.mu.Unlock()
		return CallView{}, errorf(CodeInvalidState, "call %s is the call in slot %s", id, sl.name)
	case rec.slot != nil || rec.ringingTo != "":
		s.mu.Unlock()
		return CallView{}, errorf(CodeInvalidState, "call %s is %s; only a queued or bridged call can be connected", id, rec.state())
	}
	if rec.queued {
		s.dequeueLocked(rec, "connected to slot "+sl.name)
	} else if old := s.unlinkLocked(rec); old != nil {
		old.hangupWhy = "the other party took the call parked in " + sl.name
		go s.hangUp(old, old.hangupWhy)
	}
	parked.stopRecallLocked()
	s.takeOutLocked(sl, parked)
	s.linkLocked(parked, rec)
	s.emit(EventRetrieved, sl, parked, "bridged to "+rec.caller.URI)
	v := *rec.view()
	// Bridged before s.mu is let go, as in connected: an operation that
	// follows at once must find the media joined.
	bridged := bridgeMedia(rec.call.Logger(), parked.call, rec.call)
	s.mu.Unlock()
	if !bridged {
		return v, errorf(CodeUnavailable, "a leg hung up before the bridge was set up")
	}
	return v, nil
}
