package parkd

import (
	"context"
	"fmt"
	"time"

	"github.com/parkd/parkd/sipcore"
)

// connectLocked rings target for rec (an API retrieve or transfer, or a
// queue overflow forward) and bridges rec to whoever answers. rec stays
// where it is, queued, parked or bridged, until then; failed runs when
// nobody answered and rec is still there. Callers hold s.mu.
func (s *Server) connectLocked(rec *callRecord, target string, failed func(error)) {
	s.connectWithLocked(rec, connectOptions{target: target, failed: failed})
}

// connectOptions shape a connect beyond its target: a REFER's transfer
// reports the outcome to the referrer before its leg is hung up.
type connectOptions struct {
	target string
	failed func(error) // nobody answered and rec is still where it was
	gone   func()      // rec ended (or parkd is stopping) before the target answered
	// handOff, when set, replaces hanging up rec's previous bridge peer
	// once the target answered: it must hang old up itself.
	handOff  func(old *callRecord)
	answered func() // runs (in its own goroutine) once rec is bridged to the target
	// An attended transfer's Replaces and Referred-By, for the INVITE.
	replaces   *sipcore.Replaces
	referredBy *sipcore.Party
	why        string // event detail prefix; "transferred" when empty
}

func (s *Server) connectWithLocked(rec *callRecord, opt connectOptions) {
	target := opt.target
	ctx, cancel := context.WithCancel(context.Background())
	rec.ringingTo, rec.stopOp = target, cancel
	ringFor := s.connectRingTimeLocked(rec)
	who := rec.caller.Display
	if who == "" {
		who = rec.caller.User
	}
	from := sipcore.Party{Display: who, URI: rec.caller.URI}
	if rec.slot != nil {
		from.Display = fmt.Sprintf("Park%s: %s", rec.slot.name, who)
	}
	log := rec.call.Logger().With("connect_to", target)
	if rec.slot != nil {
		s.emit(EventRinging, rec.slot, rec, target)
	} else {
		s.emitCall(EventRinging, rec, target)
	}
	log.Info("ringing for the attendant", "ring_for", ringFor)
	go func() {
		defer cancel()
		timer := s.clock.AfterFunc(ringFor, cancel)
		defer timer.Stop()
		call, err := s.endpoint.Originate(ctx, sipcore.Originate{
			Targets: []string{target}, From: from, Proxy: s.outboundProxy(), Log: log,
			Replaces: opt.replaces, ReferredBy: opt.referredBy,
		})
		s.connected(rec, opt, call, err)
	}()
}

// connectRingTimeLocked is how long an attendant's connect rings: the
// ring_parker_for of the call's slot, else of its lot, else of defaults.
func (s *Server) connectRingTimeLocked(rec *callRecord) time.Duration {
	if rec.slot != nil {
		return s.policyLocked(rec.slot).RingParkerFor.D()
	}
	l := rec.lot
	if l == nil {
		l = s.lots[0]
	}
	p, _ := s.merged(l, "", s.overrides)
	return p.RingParkerFor.D()
}

// connected finishes connectLocked: bridge the answered call, or tell
// everyone the target did not answer.
func (s *Server) connected(rec *callRecord, opt connectOptions, call *sipcore.Call, err error) {
	target, failed := opt.target, opt.failed
	log := rec.call.Logger().With("connect_to", target)
	if call != nil {
		s.beforeAnsweredTaken(call)
	}
	s.mu.Lock()
	if call != nil && leftAtOnce(call) {
		// Its BYE came before this lock, and found no call to end: as good
		// as unanswered, and rec stays where it was.
		log.Info("attendant connect answered and hung up at once")
		call, err = nil, errAnsweredAndLeft
	}
	rec.ringingTo, rec.stopOp = "", nil
	sl := rec.slot
	if sl != nil {
		sl.retrieving = false
	}
	// A call being hung up is as good as gone: no ring_failed, no recall.
	gone := rec.ended || rec.hangupWhy != "" || s.records[rec.call] != rec || s.stopping
	if call == nil {
		if !gone {
			log.Info("attendant connect unanswered", "error", err)
			if sl != nil {
				s.emit(EventRingFailed, sl, rec, fmt.Sprintf("%s: %v", target, err))
				s.resumeOverdueLocked(sl, rec)
			} else {
				s.emitCall(EventRingFailed, rec, fmt.Sprintf("%s: %v", target, err))
				s.parkOrphanLocked(rec, target)
			}
		}
		s.mu.Unlock()
		if !gone && failed != nil {
			failed(err)
		}
		if gone && opt.gone != nil {
			opt.gone()
		}
		return
	}
	if gone {
		s.mu.Unlock()
		log.Info("connect answered after the call ended: hanging it up")
		go call.Hangup(context.Background(), "the caller is gone")
		if opt.gone != nil {
			go opt.gone()
		}
		return
	}
	rec.orphanedBy = nil
	answered := s.newRecordLocked(call, legConnectTarget, call.Remote, nil)
	answered.verified = true // parkd chose whom to ring
	call.SetLogger(log.With("answered_call_id", call.ID.CallID))
	detail := "to " + target
	switch {
	case sl != nil:
		rec.stopRecallLocked()
		s.takeOutLocked(sl, rec)
		s.linkLocked(rec, answered)
		s.emit(EventRetrieved, sl, rec, detail)
	case rec.queued:
		s.dequeueLocked(rec, "connected "+detail)
		s.linkLocked(rec, answered)
	default:
		why := opt.why
		if why == "" {
			why = "transferred"
		}
		if old := s.unlinkLocked(rec); old != nil {
			old.hangupWhy = why + " " + detail
			if opt.handOff != nil {
				go opt.handOff(old)
			} else {
				go s.hangUp(old, old.hangupWhy)
			}
		}
		s.linkLocked(rec, answered)
		s.emitCall(EventBridged, rec, why+" "+detail)
	}
	// Bridged before s.mu is let go: an operation that follows at once (a
	// park of the caller, say) must find the media joined, not a join
	// still to come that would take the caller off its music.
	bridged := bridgeMedia(log, rec.call, call)
	s.mu.Unlock()
	if opt.answered != nil {
		go opt.answered()
	}
	if !bridged {
		return
	}
	log.Info("attendant connect answered and bridged")
}

// resumeOverdueLocked restarts a recall that fell due while a retrieve
// was being tried. Callers hold s.mu.
func (s *Server) resumeOverdueLocked(sl *slot, rec *callRecord) {
	if sl.parked == rec && rec.recallDeferred {
		rec.recallDeferred = false
		go s.recallDue(sl, rec)
	}
}
