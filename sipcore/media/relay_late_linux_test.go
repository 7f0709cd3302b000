package media

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// A bridged call's audio that waited in parkd's socket longer than the
// max relay delay is counted and not relayed, while a key press (RFC 4733)
// that waited as long still is, and so is what comes next; with no max,
// the same wait relays everything.
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
				withMaxRelayDelay(t, tc.max)
				calls := bridgedOnEveryPoller(t, Format{PCMU, 0, 101})
				press := func(s *Session, p *phone, seq uint16) { // digit 5, end, 800 samples
					p.send(s.LocalAddr(), rtp.Header{PayloadType: 101, SequenceNumber: seq, Timestamp: uint32(seq) * frameSamples, SSRC: 7}, []byte{5, 0x80, 0x03, 0x20})
				}
				late, batches := Totals().Late, recvBatchReads.Load()

				for _, c := range calls {
					c.sa.sock.readMu.Lock()
					c.sb.sock.readMu.Lock()
				}
				for _, c := range calls {
					talk(c.sa, c.pa, 1)
					talk(c.sb, c.pb, 1)
					press(c.sa, c.pa, 2)
					press(c.sb, c.pb, 2)
				}
				time.Sleep(held)
				for _, c := range calls {
					c.sa.sock.readMu.Unlock()
					c.sb.sock.readMu.Unlock()
				}
				keyPress := func(i int, p *phone) {
					t.Helper()
					if r := p.mustRecv(time.Second); r.pkt.PayloadType != 101 {
						t.Fatalf("call %d: the far phone got payload type %d, want the late key press (101)", i, r.pkt.PayloadType)
					}
				}
				if tc.relayed {
					for i, c := range calls {
						for _, p := range []*phone{c.pa, c.pb} {
							if r := p.mustRecv(time.Second); !bytes.Equal(r.pkt.Payload, audioPayload(1, PCMU)) {
								t.Fatalf("call %d: the far phone did not get the late packet first", i)
							}
							keyPress(i, p)
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
				// What comes next is relayed: under a max no stall of this
				// machine reaches, so that only the late audio is missing.
				SetMaxRelayDelay(10 * time.Second)
				for _, c := range calls {
					talk(c.sa, c.pa, 3)
					talk(c.sb, c.pb, 3)
				}
				for i, c := range calls {
					for _, p := range []*phone{c.pa, c.pb} {
						keyPress(i, p)
						if r := p.mustRecv(time.Second); !bytes.Equal(r.pkt.Payload, audioPayload(3, PCMU)) {
							t.Fatalf("call %d: the far phone got late audio, or not what came after it", i)
						}
					}
				}
				checkReadPath(t, ring, batches, "the relay")
			})
		}
	})
}

// A bridge whose sockets epoll would not take is read by the quiet sweep,
// whose reads wait for it by design: nothing it relays is dropped as
// late, however far past the max it waited.
func TestSweptBridgeRelaysWhatWaited(t *testing.T) {
	withAndWithoutRing(t, func(t *testing.T, ring bool) {
		withMaxRelayDelay(t, 20*time.Millisecond) // less than the sweep's wait
		refuseEpollAdd.Store(true)
		t.Cleanup(func() { refuseEpollAdd.Store(false) })
		// Twelve sockets over the sweep's five slices: some slice finds
		// several ready at once, which it reads in a batch where there is
		// a ring.
		var legs []leg
		for range 6 {
			sa, sb, pa, pb := bridged(t, Format{Codec: PCMU}, Format{Codec: PCMU})
			if sa.sock.poller != nil || sb.sock.poller != nil {
				t.Fatal("a bridged socket reached a poller with epoll refused")
			}
			legs = append(legs, leg{sa, pa}, leg{sb, pb})
		}
		late, batches := Totals().Late, recvBatchReads.Load()
		const packets = 5
		for seq := range uint16(packets) {
			for _, l := range legs {
				talk(l.s, l.p, seq)
			}
			time.Sleep(frameDuration)
		}
		for i := range legs {
			far := legs[i^1].p // hears what legs[i].p says, across the bridge
			for seq := range packets {
				if r := far.mustRecv(2 * time.Second); !bytes.Equal(r.pkt.Payload, audioPayload(seq, PCMU)) {
					t.Fatalf("leg %d, packet %d: the far phone got something else", i, seq)
				}
			}
		}
		if got := Totals().Late - late; got != 0 {
			t.Errorf("%d packets counted late on a swept bridge", got)
		}
		checkReadPath(t, ring, batches, "the sweep")
	})
}

// A poller's one-by-one read (recvmsg with the arrival stamp, the late
// check, a lag sample) allocates nothing; the batched read is covered by
// TestRelayManyCallsTalkingAtOnce's path and BenchmarkRelay.
func TestReadRelayedAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	a := newTestAllocator(t)
	s, p := openSession(t, a), newPhone(t)
	s.SetRemote(p.addr(), Format{Codec: PCMU})
	s.Start(0, nil)
	pkt := audioPacket(t)
	buf := make([]byte, maxPacketLen)
	got := 0
	read := func() {
		p.sendRaw(s.LocalAddr(), pkt)
		if s.sock.readRelayed(s, buf, nil, true) {
			got++
		}
	}
	read() // the latch: its one allocation, outside the measurement
	if n := testing.AllocsPerRun(200, read); n != 0 {
		t.Errorf("readRelayed: %v allocs per packet", n)
	}
	if got < 100 { // the quiet sweep may read one now and then
		t.Fatalf("readRelayed read %d of 201 packets", got)
	}
}

// A batched read through io_uring (recvmsg with the arrival stamps, the
// late check, a lag sample) allocates nothing either. Relaying what it
// read through a send batch is TestHotPathsDoNotAllocate's.
func TestBatchedReadAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	requireRing(t)
	a := newTestAllocator(t)
	in := newRecvBatch(newSendBatch(testLogger(), maxPacketLen), true)
	t.Cleanup(in.out.close)
	pkt := audioPacket(t)
	var entries []pollEntry
	var phones []*phone
	for range 4 {
		s, p := openSession(t, a), newPhone(t)
		s.SetRemote(p.addr(), Format{Codec: PCMU})
		s.Start(0, nil)
		entries, phones = append(entries, pollEntry{s: s}), append(phones, p)
	}
	ready := make([]pollEntry, len(entries))
	got := 0
	read := func() {
		for i, p := range phones {
			p.sendRaw(entries[i].s.LocalAddr(), pkt)
		}
		copy(ready, entries)
		in.sampleNext = true
		got += len(in.read(ready))
	}
	read() // the latches: their allocations, outside the measurement
	if n := testing.AllocsPerRun(100, read); n != 0 {
		t.Errorf("a batched read of %d sockets: %v allocs", len(entries), n)
	}
	if got < 200 { // the quiet sweep may read one now and then
		t.Fatalf("the batch read %d of %d packets", got, 101*len(entries))
	}
}

// audioPacket is one PCMU frame, marshalled.
func audioPacket(t *testing.T) []byte {
	t.Helper()
	pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 7}, Payload: audioPayload(1, PCMU)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return pkt
}
