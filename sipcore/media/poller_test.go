package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Sessions come and go while others take packets: each open session
// counts exactly the packets its own phone sent (a different number for
// each, so a packet handed to the wrong session shows), whichever poller
// and table slot it got, including slots and ports that closed sessions
// left behind.
func TestEverySessionHearsOnlyItsOwnPhone(t *testing.T) {
	a := newTestAllocator(t)
	var open []*Session
	for range 120 {
		open = append(open, openSession(t, a))
	}
	for _, s := range open[:60] {
		s.Close() // frees table slots and ports for the next ones
	}
	open = open[60:]
	for range 60 {
		open = append(open, openSession(t, a))
	}

	want := func(i int) uint64 { return uint64(i%4 + 1) }
	phones := make([]*phone, len(open))
	for i, s := range open {
		phones[i] = newPhone(t)
		s.SetRemote(phones[i].addr(), Format{Codec: PCMU})
		s.Start(0, nil)
	}
	for seq := range 4 {
		for i, s := range open {
			if uint64(seq) >= want(i) {
				continue
			}
			phones[i].send(s.LocalAddr(), rtp.Header{SequenceNumber: uint16(seq), Timestamp: uint32(seq) * frameSamples, SSRC: uint32(i + 1)}, make([]byte, 160))
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for i, s := range open {
		for s.PacketsReceived() < want(i) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got, rejected := s.PacketsReceived(), s.PacketsRejected(); got != want(i) || rejected != 0 {
			t.Errorf("session %d (%v): %d packets taken in, %d rejected; want %d and 0", i, s.LocalAddr(), got, rejected, want(i))
		}
	}
	time.Sleep(50 * time.Millisecond) // nothing more arrives late
	for i, s := range open {
		if got := s.PacketsReceived(); got != want(i) {
			t.Fatalf("session %d: %d packets, want %d", i, got, want(i))
		}
	}
}
