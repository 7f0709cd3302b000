package parkd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media/prompts"
)

// Recall steps, as events and the console name them.
const (
	StepParker    = "parker"
	StepRingGroup = "ring_group"
	StepForward   = "forward"
)

// recallStep is one thing a recall round rings.
type recallStep struct {
	name    string
	targets []string
	ringFor time.Duration
}

func (st recallStep) String() string {
	return st.name + " " + strings.Join(st.targets, ", ")
}

// recallPlan is what one recall round rings, in order, per policy. A
// parker parkd does not know is skipped; skipped says so for the console.
func recallPlan(p Policy, parker string) (steps []recallStep, skipped string) {
	ringParker := *p.RecallTo != RecallGroupOnly
	ringGroup := *p.RecallTo != RecallParkerOnly && len(p.RingGroup) > 0
	if ringParker {
		if parker != "" {
			steps = append(steps, recallStep{StepParker, []string{parker}, p.RingParkerFor.D()})
		} else {
			skipped = "parker unknown: not rung back"
		}
	}
	if ringGroup {
		steps = append(steps, recallStep{StepRingGroup, p.RingGroup, p.RingGroupFor.D()})
	}
	return steps, skipped
}

// armRecallLocked starts the recall_after timer of a parked call; with
// max_recalls 0 a call is never recalled. Callers hold s.mu.
func (s *Server) armRecallLocked(sl *slot, pc *callRecord) {
	pol := s.policyLocked(sl)
	if pc.recalls >= *pol.MaxRecalls {
		return
	}
	if pc.recallTimer != nil {
		pc.recallTimer.Stop()
	}
	after := s.recallAfterLocked(sl, pc).D()
	pc.recallAt = s.clock.Now().Add(after)
	pc.recallTimer = s.clock.AfterFunc(after, func() { s.recallDue(sl, pc) })
}

// stopRecallLocked ends a call's recall: the timer, and any ringing (the
// branches get CANCEL). Callers hold s.mu.
func (pc *callRecord) stopRecallLocked() {
	if pc.recallTimer != nil {
		pc.recallTimer.Stop()
		pc.recallTimer = nil
	}
	pc.recallAt = time.Time{}
	if pc.stopRinging != nil {
		pc.stopRinging()
		pc.stopRinging = nil
	}
	pc.ringing = ""
}

// recallDue starts a recall round when recall_after has run out.
func (s *Server) recallDue(sl *slot, pc *callRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl.parked != pc || s.stopping {
		return
	}
	if pc.recallTimer != nil {
		pc.recallTimer.Stop() // resumed early (deferred): the armed timer must not start a second round
	}
	pc.recallTimer = nil
	pc.recallAt = time.Time{}
	if sl.retrieving {
		pc.recallDeferred = true // the retrieve decides; if it fails, the recall goes on
		return
	}
	pol := s.policyLocked(sl)
	parker := s.recallParkerLocked(pc)
	if steps, _ := recallPlan(pol, parker); len(steps) == 0 && *pol.OnFailure == FailureRepark {
		s.overdueLocked(sl, pc, pol)
		return
	}
	pc.recalls++
	pc.overdue = false
	if sl.lot.cfg.PlaysRecallPrompt() {
		s.announceLocked(pc, s.promptsOf(sl.lot).Clip(prompts.CallReturned))
	}
	ctx, cancel := context.WithCancel(context.Background())
	pc.stopRinging = cancel
	log := pc.call.Logger()
	log.Info("recall due", "round", pc.recalls, "max_recalls", *pol.MaxRecalls, "recall_to", *pol.RecallTo)
	go s.runRecall(ctx, sl, pc, pol, parker)
}

// pausedLocked stops a recall round while a retrieve of the call is being
// answered: the retrieve decides, and if it fails the recall resumes with
// a new round (pc.recallDeferred). Callers hold s.mu.
func (s *Server) pausedLocked(sl *slot, pc *callRecord) bool {
	if !sl.retrieving {
		return false
	}
	pc.recallDeferred = true
	if pc.stopRinging != nil {
		pc.stopRinging()
		pc.stopRinging = nil
	}
	pc.ringing = ""
	return true
}

// pauseRingingRecallLocked stops a recall round that rings now, for an
// attendant's connect: if nobody answers that, the recall resumes with a
// new round. A recall that is only counting down is left alone; should it
// fall due meanwhile, recallDue defers it the same way. Callers hold s.mu.
func (s *Server) pauseRingingRecallLocked(sl *slot, pc *callRecord) {
	if pc.stopRinging != nil {
		s.pausedLocked(sl, pc)
	}
}

// recallAfterLocked is how long a call waits before its recall: its own
// time (an API park), else its slot's policy. Callers hold s.mu.
func (s *Server) recallAfterLocked(sl *slot, pc *callRecord) Duration {
	if pc.recallAfter != nil {
		return *pc.recallAfter
	}
	return *s.policyLocked(sl).RecallAfter
}

// runRecall rings each step of the plan until one answers, then runs
// on_failure. ctx ends when the call is retrieved or hangs up.
func (s *Server) runRecall(ctx context.Context, sl *slot, pc *callRecord, pol Policy, parker string) {
	steps, skipped := recallPlan(pol, parker)
	if skipped != "" && !s.stepFailed(sl, pc, skipped) {
		return
	}
	for _, st := range steps {
		call, err := s.ring(ctx, sl, pc, st)
		if call != nil {
			if s.recallAnswered(sl, pc, call, EventRecalled) {
				return
			}
			err = errAnsweredAndLeft
		}
		if ctx.Err() != nil {
			return // retrieved or hung up: nothing more to do
		}
		pc.call.Logger().Info("recall step unanswered", "step", st.name, "why", err)
		if !s.stepFailed(sl, pc, fmt.Sprintf("%s: %v", st.name, err)) {
			return
		}
	}
	s.recallExhausted(ctx, sl, pc, pol)
}

// ring rings one step for its ring time on the recall clock.
func (s *Server) ring(ctx context.Context, sl *slot, pc *callRecord, st recallStep) (*sipcore.Call, error) {
	ringCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	timer := s.clock.AfterFunc(st.ringFor, cancel)
	defer timer.Stop()

	s.mu.Lock()
	if sl.parked != pc || ctx.Err() != nil || s.pausedLocked(sl, pc) {
		s.mu.Unlock()
		return nil, context.Canceled
	}
	pc.ringing = st.name
	s.emit(EventRecalling, sl, pc, st.String())
	caller := pc.caller
	s.mu.Unlock()

	who := caller.Display
	if who == "" {
		who = caller.User
	}
	o := sipcore.Originate{
		Targets: st.targets,
		// The recalled phone shows who is coming back and from where.
		From:    sipcore.Party{Display: fmt.Sprintf("Park%s: %s", sl.name, who), URI: caller.URI},
		Headers: [][2]string{{"Subject", fmt.Sprintf("Recall: %s was parked in %s", who, sl.name)}},
		Proxy:   s.outboundProxy(),
		Log:     pc.call.Logger().With("step", st.name),
	}
	if ai := s.config().SIP.RecallAlertInfo; ai != "" {
		o.Headers = append(o.Headers, [2]string{"Alert-Info", ai})
	}
	return s.endpoint.Originate(ringCtx, o)
}

// outboundProxy is sip.outbound_proxy as a SIP URI ("" when unset).
func (s *Server) outboundProxy() string {
	p := s.config().SIP.OutboundProxy
	if p == "" || strings.HasPrefix(strings.ToLower(p), "sip:") || strings.HasPrefix(strings.ToLower(p), "sips:") {
		return p
	}
	return "sip:" + p
}

// stepFailed records an unanswered (or skipped) step; false when the call
// is gone and the recall is over.
func (s *Server) stepFailed(sl *slot, pc *callRecord, why string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl.parked != pc || pc.stopRinging == nil || s.pausedLocked(sl, pc) {
		return false
	}
	pc.ringing = ""
	s.emit(EventRecallFailed, sl, pc, why)
	return true
}

// recallAnswered bridges the parked call to whoever answered its recall
// (or its forward) and frees the slot, unless a retrieve got there first.
// It reports false, and leaves the call parked, when the answerer hung up
// before parkd could bridge it: the step then counts as unanswered.
func (s *Server) recallAnswered(sl *slot, pc *callRecord, call *sipcore.Call, kind EventKind) bool {
	log := pc.call.Logger()
	s.beforeAnsweredTaken(call)
	s.mu.Lock()
	if sl.parked != pc || s.pausedLocked(sl, pc) || s.stopping {
		s.mu.Unlock()
		log.Info("recall answered after the call was picked up (or parkd is stopping): hanging the recall up")
		go call.Hangup(context.Background(), "the parked call was picked up meanwhile")
		return true
	}
	if leftAtOnce(call) {
		s.mu.Unlock()
		log.Info("recall answered and hung up at once: the call stays parked", "by", call.Remote.URI)
		return false
	}
	pc.stopRecallLocked()
	s.takeOutLocked(sl, pc)
	target := s.newRecordLocked(call, legRecallTarget, call.Remote, nil)
	target.verified = true // parkd chose whom to ring
	s.linkLocked(pc, target)
	s.emit(kind, sl, pc, "answered by "+call.Remote.URI)
	call.SetLogger(log.With("recall_call_id", call.ID.CallID))
	// Bridged before s.mu is let go, as in connected: an operation that
	// follows at once (a park of the caller, say) must find the media
	// joined, not a join still to come that would take it off its music.
	bridged := bridgeMedia(log, pc.call, call)
	s.mu.Unlock()
	if !bridged {
		return true
	}
	log.Info("recall answered and bridged", "by", call.Remote.URI, "kind", kind,
		"parked_for", s.clock.Now().Sub(pc.parkedAt).Round(time.Millisecond))
	return true
}

// recallExhausted runs on_failure once every step of a round went unanswered.
func (s *Server) recallExhausted(ctx context.Context, sl *slot, pc *callRecord, pol Policy) {
	switch *pol.OnFailure {
	case FailureRepark:
		s.mu.Lock()
		if sl.parked != pc || ctx.Err() != nil || s.pausedLocked(sl, pc) {
			s.mu.Unlock()
			return
		}
		if pc.stopRinging != nil {
			pc.stopRinging() // this round is over
			pc.stopRinging = nil
		}
		if pc.recalls >= *pol.MaxRecalls {
			why := fmt.Sprintf("not picked up after %d recalls", pc.recalls)
			s.mu.Unlock()
			s.hangUpParked(sl, pc, why)
			return
		}
		s.emit(EventReparked, sl, pc, fmt.Sprintf("recall %d of %d unanswered; recalling again in %s", pc.recalls, *pol.MaxRecalls, s.recallAfterLocked(sl, pc)))
		s.armRecallLocked(sl, pc)
		s.mu.Unlock()
	case FailureForward:
		st := recallStep{StepForward, []string{*pol.ForwardTo}, pol.RingGroupFor.D()}
		call, err := s.ring(ctx, sl, pc, st)
		if call != nil {
			if s.recallAnswered(sl, pc, call, EventForwarded) {
				return
			}
			err = errAnsweredAndLeft
		}
		if ctx.Err() != nil {
			return
		}
		if s.stepFailed(sl, pc, fmt.Sprintf("%s: %v", st.name, err)) {
			s.hangUpParked(sl, pc, "recall and forward unanswered")
		}
	default: // hangup
		s.hangUpParked(sl, pc, "recall unanswered")
	}
}

// hangUpParked ends a parked call politely: a BYE that says why. The slot
// is freed by CallEnded, whose event carries why. A call being retrieved
// is left to its retriever.
func (s *Server) hangUpParked(sl *slot, pc *callRecord, why string) {
	s.mu.Lock()
	if sl.parked != pc || s.pausedLocked(sl, pc) {
		s.mu.Unlock()
		return
	}
	pc.hangupWhy = why
	pc.stopRecallLocked()
	s.mu.Unlock()
	pc.call.Logger().Info("hanging up the parked call", "why", why)
	ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
	defer cancel()
	pc.call.Hangup(ctx, why)
}
