package parkd

import (
	"fmt"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore"
)

func endedConsultRecord(i int) *callRecord {
	return &callRecord{call: &sipcore.Call{ID: sipcore.DialogID{CallID: fmt.Sprintf("consult-%d", i), LocalTag: "l", RemoteTag: "r"}}}
}

// Ended consultation calls are kept for their grace and no longer, taken
// ones leave no trace, and a flood of hang-ups is capped.
func TestEndedConsultsExpireInOrder(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC))
	s := &Server{clock: clock}
	sl := &slot{name: "701"}
	for i := range 3 {
		s.noteEndedConsultLocked(endedConsultRecord(i), sl)
		clock.Advance(time.Second)
	}
	delete(s.endedConsults, endedConsultRecord(1).call.ID) // an INVITE took it
	clock.Advance(consultGoneGrace - 3*time.Second + time.Millisecond)
	s.noteEndedConsultLocked(endedConsultRecord(3), sl)
	for i, want := range []bool{false, false, true, true} {
		if _, kept := s.endedConsults[endedConsultRecord(i).call.ID]; kept != want {
			t.Errorf("consult-%d kept %v, want %v", i, kept, want)
		}
	}
	if s.endedOrder.size != 2 {
		t.Errorf("%d dialogs in the order, want 2 (consult-2, consult-3)", s.endedOrder.size)
	}

	clock.Advance(consultGoneGrace)
	for i := range maxEndedConsults + 10 {
		s.noteEndedConsultLocked(endedConsultRecord(100+i), sl)
	}
	if n := len(s.endedConsults); n != maxEndedConsults {
		t.Errorf("after a flood of hang-ups %d kept, want the cap %d", n, maxEndedConsults)
	}
	if _, kept := s.endedConsults[endedConsultRecord(100+maxEndedConsults).call.ID]; kept {
		t.Error("a hang-up past the cap was kept")
	}
	clock.Advance(consultGoneGrace)
	s.noteEndedConsultLocked(endedConsultRecord(1000), sl)
	if n := len(s.endedConsults); n != 1 || s.endedOrder.size != 1 {
		t.Errorf("once the flood's grace ran out: %d kept, %d in the order, want 1 and 1", n, s.endedOrder.size)
	}
}

// Entries that INVITEs took do not count against the cap, even while an
// older one that nobody took still waits out its grace ahead of them.
func TestTakenEndedConsultsLeaveRoom(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC))
	s := &Server{clock: clock}
	sl := &slot{name: "701"}
	s.noteEndedConsultLocked(endedConsultRecord(0), sl) // its transferee never comes
	for i := 1; i < 2*maxEndedConsults; i++ {
		rec := endedConsultRecord(i)
		s.noteEndedConsultLocked(rec, sl)
		if _, kept := s.endedConsults[rec.call.ID]; !kept {
			t.Fatalf("hang-up %d refused with %d entries kept", i, len(s.endedConsults))
		}
		delete(s.endedConsults, rec.call.ID) // its transferee's INVITE took it
	}
	if _, kept := s.endedConsults[endedConsultRecord(0).call.ID]; !kept {
		t.Error("the entry nobody took was dropped inside its grace")
	}
}

// BenchmarkNoteEndedConsult is a hang-up under load: the table is full of
// calls ended within the grace, one running out as each new one comes.
func BenchmarkNoteEndedConsult(b *testing.B) {
	clock := NewManualClock(time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC))
	s := &Server{clock: clock}
	sl := &slot{name: "701"}
	step := consultGoneGrace / maxEndedConsults
	recs := make([]*callRecord, 4096)
	for i := range recs {
		recs[i] = endedConsultRecord(i)
	}
	for i := range maxEndedConsults {
		s.noteEndedConsultLocked(recs[i], sl)
		clock.Advance(step)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.noteEndedConsultLocked(recs[i%len(recs)], sl)
		clock.Advance(step)
		i++
	}
}
