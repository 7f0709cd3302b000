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

		var legs []leg
		for _, c := range bridgedOnEveryPoller(t, Format{Codec: PCMU}) {
			legs = append(legs, leg{c.sa, c.pa}, leg{c.sb, c.pb})
		}
		// holdAndTalk sends every leg a packet that waits held unread.
		holdAndTalk := func() {
			time.Sleep(2 * lagProbeEvery) // every poller's sample is due
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
		}
		batches, batchSamples := recvBatchReads.Load(), batchLagSamples.Load()
		holdAndTalk()
		waitFor(t, "a sample of the relay's lag", func() bool { return RelayLag() > 0 })
		if got := RelayLag(); got < held || got > held+time.Second {
			t.Fatalf("relay lag %v for packets held unread %v", got, held)
		}
		// Where there is a ring, the first datagrams each poller reads are
		// in a batch, and that read must be the one sampled. A poller woken
		// by the first of them alone reads it one by one (a batch needs two
		// ready sockets) and samples it there, a race a slow test run can
		// lose: then hold them again, a few times at most.
		if r, err := uring.New(sendBatchMax); err == nil {
			r.Close()
			sampledInBatch := func() bool {
				deadline := time.Now().Add(time.Second)
				for batchLagSamples.Load() == batchSamples && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				return batchLagSamples.Load() != batchSamples
			}
			sampled := sampledInBatch()
			for try := 0; ring && !sampled && try < 4; try++ {
				batchSamples = batchLagSamples.Load()
				holdAndTalk()
				sampled = sampledInBatch()
			}
			if ring != sampled {
				t.Errorf("a lag sample taken in a batch: %v, want %v", sampled, ring)
			}
		}
		// After the holds above: the first alone may have been read one by
		// one (CI's race run, once).
		checkReadPath(t, ring, batches, "the relay")
	})
}

// talk sends audio packet seq from p to s.
func talk(s *Session, p *phone, seq uint16) {
	p.send(s.LocalAddr(), rtp.Header{PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * frameSamples, SSRC: 7}, audioPayload(int(seq), PCMU))
}

// leg is a session and the phone that talks to it.
type leg struct {
	s *Session
	p *phone
}

// bridgedCall is phone A <-> session A <=bridge=> session B <-> phone B.
type bridgedCall struct {
	sa, sb *Session
	pa, pb *phone
}

// bridgedOnEveryPoller bridges one call more than there are pollers, so
// that some poller finds more than one socket ready at once: a batch,
// where there is a ring (the sockets are dealt to the pollers in turn).
func bridgedOnEveryPoller(t *testing.T, f Format) []bridgedCall {
	t.Helper()
	var calls []bridgedCall
	for len(calls) <= len(pollers.list) { // started by the first call's allocator
		sa, sb, pa, pb := bridged(t, f, f)
		calls = append(calls, bridgedCall{sa, sb, pa, pb})
	}
	return calls
}
