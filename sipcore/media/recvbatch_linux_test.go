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
func TestRelayManyCallsTalkingAtOnce(t *testing.T) {
	for _, ring := range []bool{true, false} {
		name := map[bool]string{true: "batched", false: "one by one"}[ring]
		t.Run(name, func(t *testing.T) {
			if !ring {
				withoutRing(t)
			}
			relayManyCalls(t, ring)
		})
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
	read := recvBatchReads.Load() != batches
	if r, err := uring.New(sendBatchMax); err == nil {
		r.Close()
		if ring && !read {
			t.Error("the pollers never read a batch: the test did not cover recvBatch")
		}
	}
	if !ring && read {
		t.Error("the pollers read a batch with io_uring turned off")
	}
}
