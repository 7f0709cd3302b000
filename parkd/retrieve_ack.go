package parkd

import (
	"context"
	"log/slog"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore"
)

// retrieveAckTimeout is how long a retriever's 200 waits for its ACK: Timer
// H, 64*T1 (32 s), read from sipgo when the retrieve is answered, so tests
// that shorten SIP timers shorten it too.
func retrieveAckTimeout() time.Duration { return 64 * sip.T1 }

// awaitRetrieveAck keeps the parked call in its slot, with its music, until
// the retriever ACKs parkd's 200: a 200 whose ACK never comes is a
// retriever that hears nothing, and bridging to it would leave the parked
// caller in dead air. Without an ACK within retrieveAckTimeout the
// retriever's leg is hung up and the call stays parked as if nothing had
// happened: the slot was never freed, so its BLF lamp does not flicker and
// no event says it left.
func (s *Server) awaitRetrieveAck(sl *slot, pc *callRecord, call *sipcore.Call, from retriever, log *slog.Logger) {
	expired := make(chan struct{})
	timer := s.clock.AfterFunc(retrieveAckTimeout(), func() { close(expired) })
	defer timer.Stop()
	var why string
	select {
	case <-call.Confirmed():
		if s.bridgeRetrieved(sl, pc, call, from, log) {
			return
		}
		why = "the retriever hung up as it was connected"
	case <-call.Done():
		// A BYE from the retriever means it had the 200 and took the call,
		// even if its ACK came after the BYE or both came before this ran.
		if isClosed(call.Confirmed()) || call.Ended() == sipcore.EndRemoteBye {
			s.bridgeRetrieved(sl, pc, call, from, log)
			return
		}
		why = "the retriever's leg ended before its ACK"
	case <-pc.call.Done():
		s.mu.Lock()
		parked := s.parkPickerInsteadLocked(sl, pc, call, from)
		s.mu.Unlock()
		if parked {
			return
		}
		log.Info("parked caller left before the retriever's ACK")
		call.Hangup(context.Background(), "the parked caller hung up")
		return
	case <-expired:
		why = "no ACK from the retriever"
	}
	s.mu.Lock()
	stillParked := sl.parked == pc
	if stillParked {
		sl.retrieving = false
		s.resumeOverdueLocked(sl, pc)
	}
	stopping := s.stopping
	s.mu.Unlock()
	if stillParked && !stopping {
		log.Warn("retrieve failed; the call stays parked", "why", why, "ack_timeout", retrieveAckTimeout())
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
	defer cancel()
	call.Hangup(ctx, why)
}

// bridgeRetrieved bridges the parked call to the retriever's confirmed
// leg and frees the slot. The ACK is what completes a retrieve: a
// retriever whose BYE came right behind its ACK (a busy parkd reads both
// at once) still took the call, and the parked caller is hung up with it,
// as after any bridged call, instead of being left parked for a recall
// nobody expects.
func (s *Server) bridgeRetrieved(sl *slot, pc *callRecord, call *sipcore.Call, who retriever, log *slog.Logger) bool {
	from := who.Party
	s.mu.Lock()
	select {
	case <-call.Done():
		if sl.parked != pc {
			s.mu.Unlock()
			return true // the parked caller left too; its own end freed the slot
		}
		pc.stopRecallLocked()
		s.takeOutLocked(sl, pc)
		s.emit(EventRetrieved, sl, pc, from.URI)
		pc.hangupWhy = "the retriever hung up"
		s.mu.Unlock()
		log.Info("call retrieved; the retriever hung up at once", "retriever", from.String(), "caller", pc.caller.String())
		go s.hangUp(pc, pc.hangupWhy)
		return true
	default:
	}
	if sl.parked != pc { // the parked caller hung up as the ACK came
		parked := s.parkPickerInsteadLocked(sl, pc, call, who)
		s.mu.Unlock()
		if parked {
			return true
		}
		log.Info("parked caller left before the retrieve was confirmed")
		go call.Hangup(context.Background(), "the parked caller hung up")
		return true
	}
	pc.stopRecallLocked() // a ringing recall gets CANCEL
	if who.byReplaces {
		s.markConsultPickupLocked(pc)
	}
	s.takeOutLocked(sl, pc)
	taker := s.newRecordLocked(call, legRetriever, from, nil)
	taker.verified = who.verified
	home := pc.homeLot
	s.linkLocked(pc, taker)
	s.emit(EventRetrieved, sl, pc, from.URI)
	s.mu.Unlock()

	if !s.bridgeAfterTone(log, home, pc.call, call) {
		return true
	}
	log.Info("call retrieved and bridged", "retriever", from.String(), "caller", pc.caller.String(),
		"parked_for", s.clock.Now().Sub(pc.parkedAt).Round(time.Millisecond))
	return true
}

// retriever is who answered a retrieve, and whether its source is
// trusted or authenticated.
type retriever struct {
	sipcore.Party
	verified   bool
	byReplaces bool // a pickup naming the call's dialog, not a dialled slot
	ofConsult  bool // ... of a call in its attended-park window (decision.ofConsult)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
