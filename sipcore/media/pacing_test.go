package media

import (
	"testing"
	"time"
)

// Phases are ticked one by one, as Run does every phaseStep; no clock is
// involved. Over several periods every listener must get exactly one frame
// per period, always in the same phase, with the loop's frames in order
// and its own sequence numbers and timestamps continuing; the first packet
// after Add carries the marker, the others not.
func TestPacingGivesEachListenerOneFramePerPeriodInItsPhase(t *testing.T) {
	t.Parallel()
	const listeners = 2*phaseSlots + 3
	a := newTestAllocator(t)
	sink := newPhone(t)
	_ = sink.conn.SetReadBuffer(1 << 20)
	src := newTestSource()
	for range listeners {
		s := openSession(t, a)
		s.SetRemote(sink.addr(), Format{Codec: PCMU})
		src.Add(s)
	}
	type last struct {
		phase, period int
		seq           uint16
		ts            uint32
	}
	seen := map[uint32]*last{}
	const periods = 3
	for period := range periods {
		for phase := range phaseSlots {
			want := len(src.phases[phase])
			src.tickPhase(nil, phase)
			for range want {
				r := sink.mustRecv(time.Second)
				h := r.pkt.Header
				if got := frameIndex(src, PCMU, r.pkt.Payload); got != period {
					t.Fatalf("period %d phase %d: SSRC %#x got frame %d", period, phase, h.SSRC, got)
				}
				l, ok := seen[h.SSRC]
				if !ok {
					if period != 0 || !h.Marker {
						t.Fatalf("SSRC %#x: first packet in period %d, marker %v", h.SSRC, period, h.Marker)
					}
					seen[h.SSRC] = &last{phase, period, h.SequenceNumber, h.Timestamp}
					continue
				}
				switch {
				case l.phase != phase:
					t.Fatalf("SSRC %#x moved from phase %d to %d", h.SSRC, l.phase, phase)
				case l.period != period-1:
					t.Fatalf("SSRC %#x: second frame within one period, or a period skipped", h.SSRC)
				case h.Marker:
					t.Fatalf("SSRC %#x: marker in the middle of the stream", h.SSRC)
				case h.SequenceNumber != l.seq+1 || h.Timestamp != l.ts+frameSamples:
					t.Fatalf("SSRC %#x: seq %d→%d ts %d→%d", h.SSRC, l.seq, h.SequenceNumber, l.ts, h.Timestamp)
				}
				*l = last{phase, period, h.SequenceNumber, h.Timestamp}
			}
		}
	}
	if len(seen) != listeners {
		t.Fatalf("%d listeners heard the music, want %d", len(seen), listeners)
	}
	if r, ok := sink.recv(50 * time.Millisecond); ok {
		t.Fatalf("an extra packet from SSRC %#x", r.pkt.SSRC)
	}
}

// Listeners fill the least busy phase, so the period stays evenly spread
// as calls come and go.
func TestPacingSpreadsListenersEvenly(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t)
	src := newTestSource()
	var sessions []*Session
	for range 3 * phaseSlots {
		s := openSession(t, a)
		src.Add(s)
		sessions = append(sessions, s)
	}
	spread := func() (lo, hi int) {
		lo, hi = 1<<30, 0
		for _, p := range src.phases {
			lo, hi = min(lo, len(p)), max(hi, len(p))
		}
		return lo, hi
	}
	if lo, hi := spread(); lo != 3 || hi != 3 {
		t.Fatalf("phases hold %d..%d listeners, want 3 each", lo, hi)
	}
	// Empty one phase's worth from the same phase; newcomers go there.
	emptied := sessions[0].mohEntry.phase
	for _, s := range sessions {
		if s.mohEntry.phase == emptied {
			src.Remove(s)
		}
	}
	for range 3 {
		src.Add(openSession(t, a))
	}
	if n := len(src.phases[emptied]); n != 3 {
		t.Fatalf("the emptied phase got %d of 3 newcomers", n)
	}
	if src.Listeners() != 3*phaseSlots {
		t.Fatalf("Listeners() = %d", src.Listeners())
	}
}

// A source nobody listens to sleeps instead of waking every phaseStep:
// its loop does not move on while it is idle, so a caller who arrives
// after a quiet spell hears the music where the last one left it.
func TestIdleSourceSleeps(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t)
	sink := newPhone(t)
	src := newTestSource()
	runSource(t, src)
	s := openSession(t, a)
	s.SetRemote(sink.addr(), Format{Codec: PCMU})

	frameHeard := func() int {
		t.Helper()
		r := sink.mustRecv(time.Second)
		return frameIndex(src, PCMU, r.pkt.Payload)
	}
	time.Sleep(300 * time.Millisecond) // 15 periods, were the source awake
	src.Add(s)
	first := frameHeard()
	if first < 0 || first > 1 {
		t.Fatalf("first frame after an idle start is %d, want 0 or 1", first)
	}
	last := first
	for range 5 {
		last = frameHeard()
	}
	src.Remove(s)
	time.Sleep(300 * time.Millisecond)
	sink.drain(50 * time.Millisecond)
	src.Add(s)
	if got := frameHeard(); got < last || got > last+2 {
		t.Errorf("after an idle spell the music went on at frame %d, want %d–%d", got, last, last+2)
	}
}
