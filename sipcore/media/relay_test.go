package media

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// bridged sets up phone A <-> session A <=bridge=> session B <-> phone B.
func bridged(t *testing.T, fa, fb Format) (sa, sb *Session, pa, pb *phone) {
	t.Helper()
	a := newTestAllocator(t)
	sa, sb = openSession(t, a), openSession(t, a)
	pa, pb = newPhone(t), newPhone(t)
	sa.SetRemote(pa.addr(), fa)
	sb.SetRemote(pb.addr(), fb)
	sa.Start(0, nil)
	sb.Start(0, nil)
	if err := Bridge(sa, sb); err != nil {
		t.Fatal(err)
	}
	return sa, sb, pa, pb
}

func audioPayload(seed int, codec Codec) []byte {
	p := make([]byte, frameSamples)
	for i := range p {
		p[i] = byte(seed*31 + i*7)
	}
	return p
}

// convert is what the far phone should receive for a payload.
func convert(p []byte, from, to Codec) []byte {
	out := append([]byte(nil), p...)
	for i, b := range out {
		switch {
		case from == PCMU && to == PCMA:
			out[i] = UlawToAlaw(b)
		case from == PCMA && to == PCMU:
			out[i] = AlawToUlaw(b)
		}
	}
	return out
}

func TestRelay(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		fa, fb Format
	}{
		{"PCMU/101 to PCMA/96", Format{PCMU, 0, 101}, Format{PCMA, 8, 96}},
		{"PCMU to PCMU", Format{PCMU, 0, 101}, Format{PCMU, 0, 101}},
		{"PCMA to PCMU", Format{PCMA, 8, 101}, Format{PCMU, 0, 101}},
		{"B without telephone-event", Format{PCMU, 0, 101}, Format{PCMA, 8, 0}},
		{"dynamic audio PT on A", Format{PCMA, 98, 101}, Format{PCMA, 8, 101}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sa, sb, pa, pb := bridged(t, tc.fa, tc.fb)

			type sent struct {
				in      rtp.Header
				payload []byte
				event   bool
			}
			var want []sent
			seq0, ts0 := uint16(65530), uint32(4294967000) // both wrap during the test
			hdr := rtp.Header{SSRC: 0xAAAA0001, PayloadType: tc.fa.AudioPT}
			for i := range 10 {
				if i == 5 {
					continue // upstream loss: must stay a gap downstream
				}
				hdr.SequenceNumber, hdr.Timestamp, hdr.Marker = seq0+uint16(i), ts0+uint32(160*i), i == 0
				p := audioPayload(i, tc.fa.Codec)
				pa.send(sa.LocalAddr(), hdr, p)
				want = append(want, sent{in: hdr, payload: convert(p, tc.fa.Codec, tc.fb.Codec)})
			}
			// An RFC 4733 event: payload passes through unchanged.
			ev := rtp.Header{SSRC: hdr.SSRC, PayloadType: tc.fa.EventPT, SequenceNumber: seq0 + 10, Timestamp: ts0 + 1600, Marker: true}
			evPayload := []byte{5, 0x0a, 0x00, 0xa0}
			pa.send(sa.LocalAddr(), ev, evPayload)
			if tc.fb.EventPT != 0 {
				want = append(want, sent{in: ev, payload: evPayload, event: true})
			}
			// Dropped: comfort noise, an unnegotiated PT, junk, RTCP, empty.
			pa.send(sa.LocalAddr(), rtp.Header{SSRC: hdr.SSRC, PayloadType: payloadTypeCN, SequenceNumber: seq0 + 11}, []byte{40})
			pa.send(sa.LocalAddr(), rtp.Header{SSRC: hdr.SSRC, PayloadType: 111, SequenceNumber: seq0 + 11}, []byte{1, 2, 3})
			pa.sendRaw(sa.LocalAddr(), []byte("not rtp at all"))
			pa.sendRaw(sa.LocalAddr(), []byte{0x80, 200, 0, 6, 1, 2, 3, 4, 5, 6, 7, 8}) // RTCP SR
			pa.sendRaw(sa.LocalAddr(), []byte{0x80})
			// CSRCs, a header extension and padding around a valid payload.
			x := rtp.Header{SSRC: hdr.SSRC, PayloadType: tc.fa.AudioPT, SequenceNumber: seq0 + 11, Timestamp: ts0 + 1760, CSRC: []uint32{1, 2}}
			if err := x.SetExtension(1, []byte{0xAB, 0xCD}); err != nil {
				t.Fatal(err)
			}
			xp := audioPayload(99, tc.fa.Codec)
			x.Version, x.Padding, x.PaddingSize = 2, true, 3
			raw, err := (&rtp.Packet{Header: x, Payload: xp}).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if raw[0] != 0xB2 || raw[len(raw)-1] != 3 {
				t.Fatalf("test packet lacks padding/extension/CSRCs: %x", raw)
			}
			pa.sendRaw(sa.LocalAddr(), raw)
			want = append(want, sent{in: x, payload: convert(xp, tc.fa.Codec, tc.fb.Codec)})

			var first rtp.Header
			for i, w := range want {
				r, ok := pb.recv(time.Second)
				if !ok {
					t.Fatalf("packet %d (input seq %d) not relayed", i, w.in.SequenceNumber)
				}
				h := r.pkt.Header
				if i == 0 {
					first = h
				}
				if r.from != sb.LocalAddr() {
					t.Errorf("packet %d came from %v, want session B %v", i, r.from, sb.LocalAddr())
				}
				wantPT := tc.fb.AudioPT
				if w.event {
					wantPT = tc.fb.EventPT
				}
				if h.PayloadType != wantPT {
					t.Errorf("packet %d: PT %d, want %d", i, h.PayloadType, wantPT)
				}
				if h.SSRC != sb.ssrc() {
					t.Errorf("packet %d: SSRC %#x, want B's %#x", i, h.SSRC, sb.ssrc())
				}
				if len(h.CSRC) != 0 || h.Extension || h.Padding {
					t.Errorf("packet %d: CSRC/extension/padding leaked through", i)
				}
				if !bytes.Equal(r.pkt.Payload, w.payload) {
					t.Errorf("packet %d: payload differs\n got %x\nwant %x", i, r.pkt.Payload, w.payload)
				}
				// Offsets are constant per direction: gaps and timing survive.
				if h.SequenceNumber-first.SequenceNumber != w.in.SequenceNumber-want[0].in.SequenceNumber {
					t.Errorf("packet %d: seq %d does not keep the input spacing", i, h.SequenceNumber)
				}
				if h.Timestamp-first.Timestamp != w.in.Timestamp-want[0].in.Timestamp {
					t.Errorf("packet %d: ts %d does not keep the input spacing", i, h.Timestamp)
				}
				if h.Marker != (i == 0 || w.in.Marker) {
					t.Errorf("packet %d: marker %v", i, h.Marker)
				}
			}
			if r, ok := pb.recv(100 * time.Millisecond); ok {
				t.Fatalf("unexpected extra packet PT %d seq %d", r.pkt.PayloadType, r.pkt.SequenceNumber)
			}

			// The reverse direction, in B's codec.
			back := rtp.Header{SSRC: 0xBBBB, PayloadType: tc.fb.AudioPT, SequenceNumber: 7, Timestamp: 99}
			var firstBack rtp.Header
			for i := range 3 {
				back.SequenceNumber++
				back.Timestamp += 160
				p := audioPayload(50+i, tc.fb.Codec)
				pb.send(sb.LocalAddr(), back, p)
				r := pa.mustRecv(time.Second)
				if i == 0 {
					firstBack = r.pkt.Header
				}
				h := r.pkt.Header
				if h.PayloadType != tc.fa.AudioPT || h.SSRC != sa.ssrc() || h.Marker != (i == 0) ||
					h.SequenceNumber != firstBack.SequenceNumber+uint16(i) || h.Timestamp != firstBack.Timestamp+uint32(160*i) {
					t.Errorf("reverse packet %d: %v (A's SSRC %#x)", i, h, sa.ssrc())
				}
				if !bytes.Equal(r.pkt.Payload, convert(p, tc.fb.Codec, tc.fa.Codec)) {
					t.Errorf("reverse packet %d: payload differs", i)
				}
			}

			// Unbridge stops both directions.
			Unbridge(sb)
			Unbridge(sb) // idempotent
			pa.send(sa.LocalAddr(), hdr, audioPayload(1, tc.fa.Codec))
			pb.send(sb.LocalAddr(), back, audioPayload(1, tc.fb.Codec))
			if _, ok := pb.recv(100 * time.Millisecond); ok {
				t.Error("A->B still relayed after Unbridge")
			}
			if _, ok := pa.recv(10 * time.Millisecond); ok {
				t.Error("B->A still relayed after Unbridge")
			}
		})
	}
}

// A parked caller hears MOH, then is picked up: the relayed audio must
// continue B's stream (same SSRC, next sequence number, later timestamp,
// marker), and no MOH packet may follow the first relayed one.
func TestRelayContinuesStreamAfterMOH(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t)
	src := newTestSource()
	runSource(t, src)
	sa, sb := openSession(t, a), openSession(t, a)
	pa, pb := newPhone(t), newPhone(t)
	sa.SetRemote(pa.addr(), Format{PCMU, 0, 101})
	sb.SetRemote(pb.addr(), Format{PCMU, 0, 101})
	sa.Start(0, nil)
	sb.Start(0, nil)
	src.Add(sb)
	var prev rtp.Header
	for range 3 {
		prev = pb.mustRecv(time.Second).pkt.Header
	}
	if err := Bridge(sa, sb); err != nil {
		t.Fatal(err)
	}
	if src.Listeners() != 0 {
		t.Fatal("Bridge left B on MOH")
	}
	hdr := rtp.Header{SSRC: 1, PayloadType: 0, SequenceNumber: 40000, Timestamp: 123456}
	for i := range 5 {
		hdr.SequenceNumber++
		hdr.Timestamp += 160
		pa.send(sa.LocalAddr(), hdr, audioPayload(i, PCMU))
	}
	var relayed int
	for relayed < 5 {
		r := pb.mustRecv(time.Second)
		isRelay := bytes.Equal(r.pkt.Payload, audioPayload(relayed, PCMU))
		if !isRelay && relayed > 0 {
			t.Fatalf("MOH packet seq %d after relaying started", r.pkt.SequenceNumber)
		}
		if isRelay {
			h := r.pkt.Header
			if h.SSRC != prev.SSRC || h.SequenceNumber != prev.SequenceNumber+1 || h.Marker != (relayed == 0) {
				t.Fatalf("relayed %d: ssrc %#x seq %d marker %v; previous ssrc %#x seq %d", relayed, h.SSRC, h.SequenceNumber, h.Marker, prev.SSRC, prev.SequenceNumber)
			}
			if relayed == 0 && int32(h.Timestamp-prev.Timestamp) < 160 {
				t.Fatalf("timestamp went from %d to %d", prev.Timestamp, h.Timestamp)
			}
			relayed++
		}
		prev = r.pkt.Header
	}
}

func TestBridgeErrorsAndDetach(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t)
	src := newTestSource()
	s1, s2, s3 := openSession(t, a), openSession(t, a), openSession(t, a)

	if err := Bridge(s1, s1); err == nil {
		t.Error("bridging a session to itself succeeded")
	}
	if err := Bridge(s1, nil); err == nil {
		t.Error("bridging to nil succeeded")
	}
	src.Add(s1)
	src.Add(s2)
	if err := Bridge(s1, s2); err != nil {
		t.Fatal(err)
	}
	if src.Listeners() != 0 {
		t.Errorf("Bridge left %d sessions on MOH", src.Listeners())
	}
	if err := Bridge(s1, s3); !errors.Is(err, ErrAlreadyBridged) {
		t.Errorf("Bridge of a bridged session: %v", err)
	}
	if err := Bridge(s3, s2); !errors.Is(err, ErrAlreadyBridged) {
		t.Errorf("Bridge of a bridged session: %v", err)
	}

	// Putting a bridged session on hold takes it (and its peer) out of the bridge.
	src.Add(s1)
	if src.Listeners() != 1 || s1.link.Load() != nil || s2.link.Load() != nil {
		t.Fatal("Add did not unbridge")
	}
	if err := Bridge(s2, s3); err != nil {
		t.Fatalf("peer of an unbridged session cannot be bridged again: %v", err)
	}

	// Close detaches from MOH and from the bridge.
	s1.Close()
	if src.Listeners() != 0 {
		t.Error("closed session still on MOH")
	}
	src.Add(s1)
	if src.Listeners() != 0 {
		t.Error("Add of a closed session attached it")
	}
	if err := Bridge(s1, s2); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Bridge with a closed session: %v", err)
	}
	s3.Close()
	if s2.link.Load() != nil {
		t.Error("Close left the peer relaying")
	}
	s4 := openSession(t, a)
	if err := Bridge(s2, s4); err != nil {
		t.Errorf("peer of a closed session cannot be bridged again: %v", err)
	}
}
