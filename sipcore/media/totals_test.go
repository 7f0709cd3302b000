package media

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestTotals is not parallel: Totals is process-wide, and the package's
// parallel tests wait until the sequential ones are done.
func TestTotals(t *testing.T) {
	t0 := Totals()
	r0, s0 := t0.Received, t0.Sent

	// A relay: A receives, B sends (handlePacket driven directly).
	rig, step := newRelayRig(t, Format{PCMU, 0, 101}, Format{PCMA, 8, 96})
	for range 9 {
		step()
	}
	// Two datagrams from a stranger's IP: rejected, not received.
	stranger := netip.MustParseAddrPort("127.0.0.2:4000")
	for range 2 {
		rig.a.handlePacket(rig.buf, copy(rig.buf, rig.template), stranger)
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
	var wantIn, wantOut, wantRejected uint64
	for _, s := range sessions {
		wantIn += s.PacketsReceived()
		wantOut += s.PacketsSent()
		wantRejected += s.PacketsRejected()
	}
	if wantIn != 10+4 || wantOut != 10+5 || wantRejected != 2 {
		t.Fatalf("sessions counted %d in, %d out, %d rejected; want 14 in, 15 out, 2 rejected", wantIn, wantOut, wantRejected)
	}
	t1 := Totals()
	r1, s1 := t1.Received, t1.Sent
	if r1-r0 != wantIn || s1-s0 != wantOut || t1.Rejected-t0.Rejected != wantRejected {
		t.Fatalf("Totals moved from %+v to %+v; want +%d received, +%d sent, +%d rejected", t0, t1, wantIn, wantOut, wantRejected)
	}

	// Closing folds the counts into the totals: nothing is lost or added.
	for _, s := range sessions {
		s.Close()
	}
	if t2 := Totals(); t2 != t1 {
		t.Fatalf("after Close: Totals %+v, was %+v", t2, t1)
	}
	for _, s := range sessions {
		s.Close() // idempotent: not folded twice
	}
	if t3 := Totals(); t3 != t1 {
		t.Fatalf("after a second Close: Totals %+v, was %+v", t3, t1)
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
