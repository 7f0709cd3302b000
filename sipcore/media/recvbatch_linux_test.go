package media

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/parkd/parkd/internal/uring"
)

// Many bridged calls whose phones all talk at once: the pollers find
// many sockets ready together and read them in batches (recvBatch), and
// every packet still reaches the other leg's phone, whole, in order, from
// that leg's own address, and nobody else's.
func TestRelayManyCallsTalkingAtOnce(t *testing.T) { withAndWithoutRing(t, relayManyCalls) }

// withAndWithoutRing runs f batched through io_uring (where the kernel
// gives a ring) and one system call per packet.
func withAndWithoutRing(t *testing.T, f func(t *testing.T, ring bool)) {
	for _, ring := range []bool{true, false} {
		name := map[bool]string{true: "batched", false: "one by one"}[ring]
		t.Run(name, func(t *testing.T) {
			if !ring {
				withoutRing(t)
			}
			f(t, ring)
		})
	}
}

// checkReadPath fails the test if the batched reads were not used when
// they should have been (a ring, and ring asked for), or were used when
// turned off; batches is recvBatchReads before the traffic.
func checkReadPath(t *testing.T, ring bool, batches uint64, who string) {
	t.Helper()
	read := recvBatchReads.Load() != batches
	if r, err := uring.New(sendBatchMax); err == nil {
		r.Close()
		if ring && !read {
			t.Errorf("%s never read a batch: the test did not cover recvBatch", who)
		}
	}
	if !ring && read {
		t.Errorf("%s read a batch with io_uring turned off", who)
	}
}

func relayManyCalls(t *testing.T, ring bool) {
	const calls, packets = 100, 5
	a := newTestAllocator(t)
	type call struct {
		a, b   *Session
		pa, pb *phone
	}
	cs := make([]call, calls)
	for i := range cs {
		c := &cs[i]
		c.a, c.b = openSession(t, a), openSession(t, a)
		c.pa, c.pb = newPhone(t), newPhone(t)
		c.a.SetRemote(c.pa.addr(), Format{Codec: PCMU})
		c.b.SetRemote(c.pb.addr(), Format{Codec: PCMU})
		c.a.Start(0, nil)
		c.b.Start(0, nil)
		if err := Bridge(c.a, c.b); err != nil {
			t.Fatal(err)
		}
	}
	batches := recvBatchReads.Load()
	for seq := range packets {
		for i := range cs {
			c := &cs[i]
			h := rtp.Header{PayloadType: 0, SequenceNumber: uint16(100 + seq), Timestamp: uint32(seq) * frameSamples, SSRC: uint32(i + 1)}
			c.pa.send(c.a.LocalAddr(), h, audioPayload(i*packets+seq, PCMU))
		}
	}
	for i := range cs {
		c := &cs[i]
		var last uint16
		for seq := range packets {
			r := c.pb.mustRecv(2 * time.Second)
			if r.from != c.b.LocalAddr() {
				t.Fatalf("call %d: packet from %s, not its leg's %s", i, r.from, c.b.LocalAddr())
			}
			if !bytes.Equal(r.pkt.Payload, audioPayload(i*packets+seq, PCMU)) {
				t.Fatalf("call %d: packet %d carries another packet's audio", i, seq)
			}
			if seq > 0 && r.pkt.SequenceNumber != last+1 {
				t.Fatalf("call %d: sequence %d after %d", i, r.pkt.SequenceNumber, last)
			}
			last = r.pkt.SequenceNumber
		}
		if _, ok := c.pb.recv(time.Millisecond); ok {
			t.Fatalf("call %d: more packets than were sent", i)
		}
	}
	checkReadPath(t, ring, batches, "the pollers")
}

// Calls that are not bridged (parked, hearing music) are read by the
// quiet sweep, in batches where there is a ring: each session counts
// exactly the packets its own phone sent, several per sweep (a different
// number for each, so a packet handed to the wrong session, or a socket
// left before it was empty, shows).
func TestSweepReadsEveryQuietCall(t *testing.T) { withAndWithoutRing(t, sweepManyCalls) }

func sweepManyCalls(t *testing.T, ring bool) {
	const calls = 150
	a := newTestAllocator(t)
	sessions := make([]*Session, calls)
	phones := make([]*phone, calls)
	for i := range sessions {
		sessions[i], phones[i] = openSession(t, a), newPhone(t)
		sessions[i].SetRemote(phones[i].addr(), Format{Codec: PCMU})
		sessions[i].Start(0, nil)
	}
	want := func(i int) uint64 { return uint64(i%7 + 1) }
	batches := recvBatchReads.Load()
	for seq := range 7 {
		for i, s := range sessions {
			if uint64(seq) < want(i) {
				phones[i].send(s.LocalAddr(), rtp.Header{SequenceNumber: uint16(seq), Timestamp: uint32(seq) * frameSamples, SSRC: uint32(i + 1)}, make([]byte, frameSamples))
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for i, s := range sessions {
		for s.PacketsReceived() < want(i) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	time.Sleep(2 * quietSweep) // nothing more arrives late
	for i, s := range sessions {
		if got, rejected := s.PacketsReceived(), s.PacketsRejected(); got != want(i) || rejected != 0 {
			t.Errorf("session %d: %d packets taken in, %d rejected; want %d and 0", i, got, rejected, want(i))
		}
	}
	checkReadPath(t, ring, batches, "the sweep")
}
