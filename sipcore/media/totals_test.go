package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestTotals is not parallel: Totals is process-wide, and the package's
// parallel tests wait until the sequential ones are done.
func TestTotals(t *testing.T) {
	r0, s0 := Totals()

	// A relay: A receives, B sends (handlePacket driven directly).
	rig, step := newRelayRig(t, Format{PCMU, 0, 101}, Format{PCMA, 8, 96})
	for range 9 {
		step()
	}
	// An MOH listener: sends only.
	alloc := newTestAllocator(t)
	listener, sink := openSession(t, alloc), newPhone(t)
	listener.SetRemote(sink.addr(), Format{Codec: PCMU, AudioPT: uint8(PCMU)})
	src := newTestSource()
	src.Add(listener)
	for range 5 {
		src.tick(nil)
	}
	// A started session reading real packets from a phone.
	reader, caller := openSession(t, alloc), newPhone(t)
	reader.SetRemote(caller.addr(), Format{Codec: PCMU, AudioPT: uint8(PCMU)})
	reader.Start(0, nil)
	for i := range 4 {
		caller.send(reader.LocalAddr(), rtp.Header{PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(i) * frameSamples, SSRC: 7}, make([]byte, frameSamples))
	}
	deadline := time.Now().Add(2 * time.Second)
	for reader.PacketsReceived() < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}

	sessions := []*Session{rig.a, rig.b, listener, reader}
	var wantIn, wantOut uint64
	for _, s := range sessions {
		wantIn += s.PacketsReceived()
		wantOut += s.PacketsSent()
	}
	if wantIn != 10+4 || wantOut != 10+5 {
		t.Fatalf("sessions counted %d in, %d out; want 14 in, 15 out", wantIn, wantOut)
	}
	r1, s1 := Totals()
	if r1-r0 != wantIn || s1-s0 != wantOut {
		t.Fatalf("Totals moved by %d received, %d sent; want %d, %d", r1-r0, s1-s0, wantIn, wantOut)
	}

	// Closing folds the counts into the totals: nothing is lost or added.
	for _, s := range sessions {
		s.Close()
	}
	if r2, s2 := Totals(); r2 != r1 || s2 != s1 {
		t.Fatalf("after Close: Totals %d/%d, was %d/%d", r2, s2, r1, s1)
	}
	for _, s := range sessions {
		s.Close() // idempotent: not folded twice
	}
	if r3, s3 := Totals(); r3 != r1 || s3 != s1 {
		t.Fatalf("after a second Close: Totals %d/%d, was %d/%d", r3, s3, r1, s1)
	}
}

func BenchmarkTotals(b *testing.B) {
	alloc := newTestAllocator(b)
	for range 1000 {
		openSession(b, alloc)
	}
	b.ReportAllocs()
	for b.Loop() {
		Totals()
	}
}
