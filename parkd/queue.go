package parkd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/parkd/parkd/sipcore"
)

// decideQueue takes a call to a lot's attendant extension into its queue,
// or refuses it when queue_max calls wait already. Callers hold s.mu.
func (s *Server) decideQueue(l *lot) decision {
	if len(l.queue)+l.answering >= l.cfg.QueueMaxOrDefault() {
		return reject(486, "Busy Here", "the attendant queue of lot %s is full (%d waiting)", l.cfg.Name, len(l.queue))
	}
	l.answering++
	return decision{queue: l}
}

// enqueue answers a call to the attendant extension; it waits in the
// lot's queue with music on hold until the attendant deals with it.
func (s *Server) enqueue(inv *sipcore.Invite, l *lot) {
	log := inv.Log.With("lot", l.cfg.Name, "queue", true)
	call, err := inv.Answer()
	s.mu.Lock()
	defer s.mu.Unlock()
	l = s.currentLot(l) // a reload while it was answered replaced the lot; the count moved with it
	l.answering = max(l.answering-1, 0)
	if err != nil {
		if errors.Is(err, sipcore.ErrCanceled) {
			log.Info("caller canceled before the attendant queue answered")
		} else {
			log.Error("answering the attendant call failed", "error", err)
		}
		return
	}
	call.SetLogger(log)
	select {
	case <-call.Done():
		return
	default:
	}
	rec := s.newRecordLocked(call, legCaller, inv.From, l)
	rec.homeLot, rec.verified = l, inv.Identity.Verified()
	rec.queued = true
	l.queue = append(l.queue, rec)
	s.music.source().Add(call.Media())
	if d := l.cfg.QueueTimeout.D(); d > 0 {
		rec.queueTimer = s.clock.AfterFunc(d, func() { s.queueExpired(rec) })
	}
	log.Info("call queued for the attendant", "caller", inv.From.String(), "position", len(l.queue), "call", rec.id)
	s.emitCall(EventQueued, rec, "")
}

// dequeueLocked takes rec out of its lot's queue; detail says where it
// went. Callers hold s.mu.
func (s *Server) dequeueLocked(rec *callRecord, detail string) {
	l := rec.lot
	if i := slices.Index(l.queue, rec); i >= 0 {
		l.queue = slices.Delete(l.queue, i, i+1)
	}
	if rec.queueTimer != nil {
		rec.queueTimer.Stop()
		rec.queueTimer = nil
	}
	rec.queued = false
	s.emitCall(EventDequeued, rec, detail)
}

// queueExpired applies queue_overflow to a call that waited queue_timeout.
func (s *Server) queueExpired(rec *callRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !rec.queued || s.records[rec.call] != rec || s.stopping {
		return
	}
	rec.queueTimer = nil
	if rec.ringingTo != "" {
		return // the attendant is connecting it: let that finish
	}
	l := rec.lot
	log := rec.call.Logger()
	if target, ok := strings.CutPrefix(l.cfg.QueueOverflow, QueueOverflowForward+":"); ok {
		log.Info("queue timeout: forwarding", "to", target)
		s.connectLocked(rec, target, func(err error) {
			s.hangUp(rec, fmt.Sprintf("waited %s in the queue; forward to %s failed", l.cfg.QueueTimeout, target))
		})
		return
	}
	why := fmt.Sprintf("waited %s in the attendant queue", l.cfg.QueueTimeout)
	log.Info("queue timeout: hanging up", "why", why)
	rec.hangupWhy = why
	go s.hangUp(rec, why)
}

// hangUp sends rec's call a BYE that says why; its end frees whatever the
// call held (CallEnded).
func (s *Server) hangUp(rec *callRecord, why string) {
	s.mu.Lock()
	if rec.hangupWhy == "" {
		rec.hangupWhy = why
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
	defer cancel()
	rec.call.Hangup(ctx, why)
}
