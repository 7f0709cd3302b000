package parkd

import (
	"context"
	"log/slog"

	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media"
	"github.com/parkd/parkd/sipcore/media/prompts"
)

// promptsOf is the prompt set that speaks for l: its own WAVs where it
// has them, the built-in recordings elsewhere.
func (s *Server) promptsOf(l *lot) *prompts.Set {
	if l == nil || l.prompts == nil {
		return prompts.Builtin()
	}
	return l.prompts
}

// announceLocked plays clip to rec's leg and then, if the call is still
// parked, music on hold again. Whatever takes the leg meanwhile (a
// retrieve's bridge, a move, a recall) simply cuts the clip short.
// Callers hold s.mu.
func (s *Server) announceLocked(rec *callRecord, clip *media.Clip) {
	sess := rec.call.Media()
	sess.Play(clip, func(finished bool) {
		if !finished {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if rec.slot != nil && s.records[rec.call] == rec {
			s.music.source().Add(sess)
		}
	})
}

// playThenHangup answers a caller parkd has nothing for with a spoken
// reason, then hangs up: "no call parked here" rather than a bare 404.
func (s *Server) playThenHangup(inv *sipcore.Invite, clip *media.Clip, why string, log *slog.Logger) {
	call, err := inv.Answer()
	if err != nil {
		log.Info("prompt call not answered", "error", err)
		return
	}
	call.SetLogger(log)
	finished := make(chan struct{})
	select {
	case <-call.Confirmed():
	case <-call.Done():
		return
	}
	call.Media().Play(clip, func(bool) { close(finished) })
	select {
	case <-finished:
	case <-call.Done():
		return
	}
	log.Info(why + ": told the caller and hung up")
	ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
	defer cancel()
	call.Hangup(ctx, why)
}

// bridgeAfterTone bridges a and b, first playing the courtesy tone to the
// one who picked up (b) when the lot asks for it, so the retriever knows
// the call is there before the caller speaks.
func (s *Server) bridgeAfterTone(log *slog.Logger, l *lot, a, b *sipcore.Call) bool {
	if l == nil || !l.cfg.CourtesyTone {
		return bridgeMedia(log, a, b)
	}
	b.Media().Play(prompts.CourtesyTone(), func(finished bool) {
		if !finished {
			return // something else took the retriever's leg (a keypad park, a hang-up)
		}
		s.mu.Lock()
		linked := s.bridged[a] == b
		s.mu.Unlock()
		if linked {
			bridgeMedia(log, a, b)
		}
	})
	return true
}
