package media

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// A bridged call's packets that waited in parkd's socket longer than the
// max relay delay are counted and not relayed, and the next ones are;
// with no max, the same wait relays everything.
//
// Not parallel: it sets the process's max relay delay, and holds sockets
// from the pollers that every test shares.
func TestRelayDropsWhatCameTooLate(t *testing.T) {
	const held = 150 * time.Millisecond
	withAndWithoutRing(t, func(t *testing.T, ring bool) {
		for _, tc := range []struct {
			name    string
			max     time.Duration
			relayed bool
		}{
			{"max 50ms", 50 * time.Millisecond, false},
			{"no max", 0, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				SetMaxRelayDelay(tc.max)
				t.Cleanup(func() { SetMaxRelayDelay(DefaultMaxRelayDelay) })
				// A call more than there are pollers, so that a poller
				// finds several sockets ready at once: a batch, where
				// there is a ring.
				type call struct {
					sa, sb *Session
					pa, pb *phone
				}
				var calls []call
				for len(calls) <= len(pollers.list) { // started by the first call's allocator
					sa, sb, pa, pb := bridged(t, Format{Codec: PCMU}, Format{Codec: PCMU})
					calls = append(calls, call{sa, sb, pa, pb})
				}
				talk := func(s *Session, p *phone, seq uint16) {
					p.send(s.LocalAddr(), rtp.Header{PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * frameSamples, SSRC: 7}, audioPayload(int(seq), PCMU))
				}
				late, batches := Totals().Late, recvBatchReads.Load()

				for _, c := range calls {
					c.sa.sock.readMu.Lock()
					c.sb.sock.readMu.Lock()
				}
				for _, c := range calls {
					talk(c.sa, c.pa, 1)
					talk(c.sb, c.pb, 1)
				}
				time.Sleep(held)
				for _, c := range calls {
					c.sa.sock.readMu.Unlock()
					c.sb.sock.readMu.Unlock()
				}
				if tc.relayed {
					for i, c := range calls {
						for _, p := range []*phone{c.pa, c.pb} {
							if r := p.mustRecv(time.Second); !bytes.Equal(r.pkt.Payload, audioPayload(1, PCMU)) {
								t.Fatalf("call %d: the far phone did not get the late packet first", i)
							}
						}
					}
					if got := Totals().Late - late; got != 0 {
						t.Errorf("%d packets counted late with no max", got)
					}
					checkReadPath(t, ring, batches, "the relay")
					return
				}

				want := uint64(2 * len(calls))
				waitFor(t, "every late packet counted", func() bool { return Totals().Late-late >= want })
				if got := Totals().Late - late; got != want {
					t.Errorf("%d packets counted late, want %d", got, want)
				}
				for _, c := range calls {
					talk(c.sa, c.pa, 2)
					talk(c.sb, c.pb, 2)
				}
				for i, c := range calls {
					for _, p := range []*phone{c.pa, c.pb} {
						if r := p.mustRecv(time.Second); !bytes.Equal(r.pkt.Payload, audioPayload(2, PCMU)) {
							t.Fatalf("call %d: the far phone's first packet is not the one sent after the late one", i)
						}
					}
				}
				checkReadPath(t, ring, batches, "the relay")
			})
		}
	})
}

// tooLate drops only what it can tell is late, and nothing with no max.
func TestTooLate(t *testing.T) {
	const now = int64(1e18)
	for _, tc := range []struct {
		name    string
		max     time.Duration
		arrival int64
		want    bool
	}{
		{"just in time", 100 * time.Millisecond, now - int64(100*time.Millisecond), false},
		{"over the max", 100 * time.Millisecond, now - int64(100*time.Millisecond) - 1, true},
		{"no stamp", 100 * time.Millisecond, 0, false},
		{"stamped after now (a clock step)", 100 * time.Millisecond, now + int64(time.Second), false},
		{"no max", 0, now - int64(time.Hour), false},
		{"negative max reads as none", -time.Second, now - int64(time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			SetMaxRelayDelay(tc.max)
			t.Cleanup(func() { SetMaxRelayDelay(DefaultMaxRelayDelay) })
			if got := tooLate(tc.arrival, now); got != tc.want {
				t.Errorf("tooLate = %v, want %v", got, tc.want)
			}
		})
	}
}
