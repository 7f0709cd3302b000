package parkd

import (
	"context"
	"strings"
	"time"
)

// dtmfDigitGap is how long a park_dtmf sequence may pause between digits
// before what came so far is forgotten (Asterisk's featuredigittimeout is
// shorter; phones that send slowly over a PBX need more).
const dtmfDigitGap = 3 * time.Second

// dtmfMatcher watches one bridged leg's keypad for the lot's park_dtmf.
// digit runs on the RTP poller that reads the leg, one digit at a time, so
// it needs no lock; fire must not block (the poller reads other calls too).
type dtmfMatcher struct {
	seq  string
	got  []byte
	last time.Time
	now  func() time.Time
	fire func()
}

func newDTMFMatcher(seq string, now func() time.Time, fire func()) *dtmfMatcher {
	return &dtmfMatcher{seq: seq, got: make([]byte, 0, len(seq)), now: now, fire: fire}
}

func (m *dtmfMatcher) digit(d rune) {
	now := m.now()
	if !m.last.IsZero() && now.Sub(m.last) > dtmfDigitGap {
		m.got = m.got[:0]
	}
	m.last = now
	if len(m.got) == len(m.seq) {
		copy(m.got, m.got[1:])
		m.got = m.got[:len(m.got)-1]
	}
	m.got = append(m.got, byte(d))
	if string(m.got) == m.seq {
		m.got = m.got[:0]
		m.fire()
	}
}

// armDTMFLocked starts watching both legs of a new bridge for park_dtmf,
// when the lot the bridged call came from has one. Callers hold s.mu.
func (s *Server) armDTMFLocked(a, b *callRecord) {
	l := a.homeLot
	if l == nil {
		l = b.homeLot
	}
	if l == nil || l.cfg.ParkDTMF == "" {
		return
	}
	for _, r := range []*callRecord{a, b} {
		r.homeLot = l
		r.dtmf = newDTMFMatcher(strings.ToUpper(l.cfg.ParkDTMF), time.Now, func() { go s.keypadPark(r) })
		r.call.Media().OnDTMF(r.dtmf.digit)
	}
}

// disarmDTMFLocked stops watching rec's keypad. Callers hold s.mu.
func (s *Server) disarmDTMFLocked(rec *callRecord) {
	if rec.dtmf != nil {
		rec.call.Media().OnDTMF(nil)
		rec.dtmf = nil
	}
}

// keypadPark parks the other leg of rec's bridge, as Asterisk's parkcall
// feature does: rec dialled park_dtmf, hears where the call went, and is
// hung up.
func (s *Server) keypadPark(rec *callRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	other := rec.peer
	if other == nil || rec.ended || s.stopping || s.records[rec.call] != rec {
		return
	}
	l := s.parkingLot(rec.homeLot)
	log := rec.call.Logger().With("lot", l.cfg.Name)
	sl := l.fixedSlot
	if sl == nil || !sl.free() {
		sl = l.findFree()
	}
	if sl == nil {
		// Saying so would mean cutting the bridge's audio: the call just
		// stays as it is.
		log.Warn("park_dtmf: the lot is full; the call stays bridged")
		return
	}
	s.unlinkLocked(rec)
	other.call.SetLogger(other.call.Logger().With("slot", sl.name, "lot", l.cfg.Name))
	log.Info("park_dtmf: parked the other party", "slot", sl.name, "parked_call_id", other.call.ID.CallID)
	s.placeWithParkerLocked(sl, other, rec.caller, rec.verified, ParkerFromKeypad, "parked by keypad from "+rec.caller.URI)
	rec.hangupWhy = "parked the other party in " + sl.name
	rec.call.Media().Play(s.promptsOf(l).ParkedOn(sl.name), func(bool) {
		ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
		defer cancel()
		rec.call.Hangup(ctx, rec.hangupWhy)
	})
}

// ParkerFromKeypad is CallView.ParkerFrom for a call parked by the other
// party of its bridge dialling the lot's park_dtmf.
const ParkerFromKeypad = "keypad"
