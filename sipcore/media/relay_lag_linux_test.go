package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/parkd/parkd/internal/uring"
)

// The relay samples its lag from the kernel's arrival stamp of what it
// reads: packets held unread for 150 ms read as about 150 ms late. A
// parked call's packets, which wait for the sweep by design, are never
// sampled.
//
// Not parallel: it resets the process's lag, and holds sockets from the
// pollers that every test shares.
func TestRelaySamplesItsLag(t *testing.T) {
	const held = 150 * time.Millisecond
	withAndWithoutRing(t, func(t *testing.T, ring bool) {
		relayLag.reset()
		t.Cleanup(relayLag.reset)
		talk := func(s *Session, p *phone, seq uint16) {
			p.send(s.LocalAddr(), rtp.Header{PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * frameSamples, SSRC: 7}, audioPayload(int(seq), PCMU))
		}

		a := newTestAllocator(t)
		parked, caller := openSession(t, a), newPhone(t)
		parked.SetRemote(caller.addr(), Format{Codec: PCMU})
		parked.Start(0, nil)
		for seq := range uint16(30) {
			talk(parked, caller, seq)
			time.Sleep(10 * time.Millisecond)
		}
		if got := RelayLag(); got != 0 {
			t.Fatalf("a parked call's packets gave a relay lag of %v", got)
		}

		// A bridged call more than there are pollers, so that each poller
		// finds more than one socket ready at once: a batch, where there
		// is a ring (the sockets are dealt to the pollers in turn).
		type leg struct {
			s *Session
			p *phone
		}
		var legs []leg
		for range len(pollers.list) + 1 {
			sa, sb, pa, pb := bridged(t, Format{Codec: PCMU}, Format{Codec: PCMU})
			legs = append(legs, leg{sa, pa}, leg{sb, pb})
		}
		time.Sleep(2 * lagProbeEvery) // every poller's sample is due
		batches, batchSamples := recvBatchReads.Load(), batchLagSamples.Load()
		for _, l := range legs {
			l.s.sock.readMu.Lock()
		}
		for i, l := range legs {
			talk(l.s, l.p, uint16(i))
		}
		time.Sleep(held)
		for _, l := range legs {
			l.s.sock.readMu.Unlock()
		}
		waitFor(t, "a sample of the relay's lag", func() bool { return RelayLag() > 0 })
		if got := RelayLag(); got < held || got > held+time.Second {
			t.Fatalf("relay lag %v for packets held unread %v", got, held)
		}
		checkReadPath(t, ring, batches, "the relay")
		// The first datagram each poller reads is in a batch, where there
		// is a ring: that read must be the one sampled.
		if r, err := uring.New(sendBatchMax); err == nil {
			r.Close()
			if sampled := batchLagSamples.Load() != batchSamples; ring != sampled {
				t.Errorf("a lag sample taken in a batch: %v, want %v", sampled, ring)
			}
		}
	})
}
