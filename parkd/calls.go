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
func (s *Server) park(ctx context.Context, inv *sipcore.Invite, sl *slot) {
	log := inv.Log.With("slot", sl.name, "lot", sl.lot.cfg.Name)
	if delay := sl.lot.cfg.AnswerDelay.D(); delay > 0 {
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
	sl.reserved = false
	sl.parked = &parkedCall{call: call, caller: inv.From, parker: parker, parkerFrom: parkerFrom, parkedAt: s.clock.Now()}
	sl.lot.lastUsed = sl.lot.indexOf(sl)
	s.inSlot[call] = sl
	s.moh.Add(call.Media())
	if parkerFrom == "" {
		log.Info("call parked; parker unknown, a recall skips to the ring group", "caller", inv.From.String())
	} else {
		log.Info("call parked", "caller", inv.From.String(), "parker", parker.URI, "parker_from", parkerFrom)
	}
	s.armRecallLocked(sl, sl.parked)
	s.emit(EventParked, sl, sl.parked, "")
}

// retrieve answers inv and bridges it to the call claimed from sl.
func (s *Server) retrieve(inv *sipcore.Invite, sl *slot, pc *parkedCall) {
	log := inv.Log.With("slot", sl.name, "lot", sl.lot.cfg.Name, "parked_call_id", pc.call.ID.CallID)
	call, err := inv.Answer()

	s.mu.Lock()
	sl.retrieving = false
	if err != nil {
		if sl.parked == pc && pc.overdue {
			pc.overdue = false
			go s.recallDue(sl, pc) // it fell due while the retrieve was tried
		}
		s.mu.Unlock()
		log.Info("retrieve not answered; the call stays parked", "error", err)
		return
	}
	call.SetLogger(log)
	if sl.parked != pc { // the parked caller hung up meanwhile
		s.mu.Unlock()
		log.Info("parked caller left before the retrieve was answered")
		call.Hangup(context.Background(), "the parked caller hung up")
		return
	}
	pc.stopRecallLocked() // a ringing recall gets CANCEL
	sl.parked = nil
	delete(s.inSlot, pc.call)
	s.bridged[call] = pc.call
	s.bridged[pc.call] = call
	s.emit(EventRetrieved, sl, pc, inv.From.URI)
	s.mu.Unlock()

	if err := media.Bridge(pc.call.Media(), call.Media()); err != nil {
		log.Error("bridging the retrieved call failed", "error", err)
		go call.Hangup(context.Background(), "bridge failed")
		return
	}
	log.Info("call retrieved and bridged", "retriever", inv.From.String(), "caller", pc.caller.String(),
		"parked_for", s.clock.Now().Sub(pc.parkedAt).Round(time.Millisecond))
}

// CallEnded frees the slot of a parked call that ended, or hangs up the
// other leg of a bridge.
func (s *Server) CallEnded(call *sipcore.Call, reason sipcore.EndReason) {
	s.mu.Lock()
	if sl, ok := s.inSlot[call]; ok {
		pc := sl.parked
		pc.stopRecallLocked()
		delete(s.inSlot, call)
		sl.parked = nil
		kind, detail := EventHungUp, string(reason)
		if reason == sipcore.EndRemoteBye {
			kind = EventAbandoned
		} else if pc.hangupWhy != "" {
			detail = pc.hangupWhy
		}
		call.Logger().Info("parked call ended; slot freed", "reason", reason, "detail", detail)
		s.emit(kind, sl, pc, detail)
	}
	peer, wasBridged := s.bridged[call]
	delete(s.bridged, call)
	delete(s.bridged, peer)
	s.mu.Unlock()
	if wasBridged {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
			defer cancel()
			peer.Hangup(ctx, "the other party hung up")
		}()
	}
}

func (s *Server) release(sl *slot) {
	s.mu.Lock()
	s.releaseLocked(sl)
	s.mu.Unlock()
}

func (s *Server) releaseLocked(sl *slot) { sl.reserved = false }

// emit bumps the slot's version and publishes the change; callers hold s.mu.
func (s *Server) emit(kind EventKind, sl *slot, pc *parkedCall, detail string) {
	s.publish(Event{Kind: kind, Call: pc.view(), Detail: detail}, sl)
}

// emitPolicy publishes a slot's new effective policy; callers hold s.mu.
func (s *Server) emitPolicy(sl *slot, p *Policy) {
	s.publish(Event{Kind: EventPolicy, Call: sl.parked.view(), Policy: p}, sl)
}

func (s *Server) publish(ev Event, sl *slot) {
	sl.version++
	ev.Time, ev.Lot, ev.Slot, ev.Version, ev.Subscribers = s.clock.Now(), sl.lot.cfg.Name, sl.name, sl.version, sl.watchers
	s.events.publish(ev)
}
