package media

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestParseDTMFEvent(t *testing.T) {
	cases := []struct {
		payload []byte
		digit   rune
		end, ok bool
	}{
		{[]byte{0, 10, 0, 160}, '0', false, true},
		{[]byte{9, 0x8a, 3, 32}, '9', true, true},
		{[]byte{10, 10, 0, 0}, '*', false, true},
		{[]byte{11, 0x80, 0, 0}, '#', true, true},
		{[]byte{12, 0, 0, 0}, 'A', false, true},
		{[]byte{15, 0, 0, 0}, 'D', false, true},
		{[]byte{11, 0x40, 0, 0}, '#', false, true},  // R bit is not E
		{[]byte{5, 0x80, 0, 0, 0}, '5', true, true}, // trailing bytes ignored
		{[]byte{16, 0, 0, 0}, 0, false, false},      // flash: not DTMF
		{[]byte{255, 0x80, 0, 0}, 0, false, false},  // not an event we know
		{[]byte{1, 0x80, 0}, 0, false, false},       // too short
		{nil, 0, false, false},
	}
	for _, tc := range cases {
		digit, end, ok := parseDTMFEvent(tc.payload)
		if digit != tc.digit || end != tc.end || ok != tc.ok {
			t.Errorf("parseDTMFEvent(%v) = %q %v %v, want %q %v %v", tc.payload, digit, end, ok, tc.digit, tc.end, tc.ok)
		}
	}
}

func FuzzParseDTMFEvent(f *testing.F) {
	for _, seed := range [][]byte{{11, 0x8a, 3, 32}, {0, 10, 0, 160}, {16, 0, 0, 0}, {1, 2}, {}, {15, 0xff, 0xff, 0xff, 0xff}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		digit, end, ok := parseDTMFEvent(payload)
		if !ok {
			if digit != 0 || end {
				t.Fatalf("rejected payload gave %q %v", digit, end)
			}
			return
		}
		if len(payload) < 4 || !strings.ContainsRune(dtmfDigits, digit) || end != (payload[1]&0x80 != 0) {
			t.Fatalf("%v parsed as %q end=%v", payload, digit, end)
		}
		// Whatever else the packet holds, the detector must not panic on it.
		var d dtmfState
		d.next(rtpPacket{ts: 1}, payload)
		d.next(rtpPacket{ts: 1}, payload)
	})
}

// evPkt is one telephone-event packet for the detector's unit test.
type evPkt struct {
	ssrc, ts uint32
	marker   bool
	event    byte
	end      bool
}

func TestDTMFStateReportsEachPressOnce(t *testing.T) {
	// press is how phones send one key: the start (marker), updates, three
	// end packets, all with one timestamp.
	press := func(ssrc, ts uint32, ev byte) []evPkt {
		return []evPkt{
			{ssrc, ts, true, ev, false}, {ssrc, ts, false, ev, false}, {ssrc, ts, false, ev, false},
			{ssrc, ts, false, ev, true}, {ssrc, ts, false, ev, true}, {ssrc, ts, false, ev, true},
		}
	}
	cat := func(parts ...[]evPkt) []evPkt {
		var out []evPkt
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name string
		pkts []evPkt
		want string
	}{
		{"one press", press(1, 1000, 11), "#"},
		{"#72", cat(press(1, 1000, 11), press(1, 2000, 7), press(1, 3000, 2)), "#72"},
		{"same key twice", cat(press(1, 1000, 7), press(1, 2000, 7)), "77"},
		{"first packets lost", press(1, 1000, 5)[3:], "5"},
		{"late end packet of the previous key", cat(press(1, 1000, 4), press(1, 2000, 6)[:2], []evPkt{{1, 1000, false, 4, true}}, press(1, 2000, 6)[2:]), "46"},
		{"long key in two segments", cat(press(1, 1000, 9)[:3], []evPkt{{1, 66535, false, 9, false}, {1, 66535, false, 9, true}}), "9"},
		{"new segment after an end is a new press", cat(press(1, 1000, 9), []evPkt{{1, 9000, false, 9, false}}), "99"},
		{"timestamp wraps", cat(press(1, 0xFFFFFF00, 1), press(1, 0x100, 2)), "12"},
		{"phone restarts its stream", cat(press(1, 5000, 3), press(2, 5000, 3)), "33"},
		{"flash and other events ignored", cat(press(1, 1000, 16), press(1, 2000, 200), press(1, 3000, 0)), "0"},
	}
	for _, tc := range cases {
		var d dtmfState
		var got []rune
		for _, e := range tc.pkts {
			flags := byte(10)
			if e.end {
				flags |= 0x80
			}
			if digit, ok := d.next(rtpPacket{ssrc: e.ssrc, ts: e.ts, marker: e.marker}, []byte{e.event, flags, 0, 160}); ok {
				got = append(got, digit)
			}
		}
		if string(got) != tc.want {
			t.Errorf("%s: reported %q, want %q", tc.name, string(got), tc.want)
		}
	}
}

// dtmfSender sends keys the way phones do: each an RFC 4733 event of
// about 100 ms (updates every 20 ms, the first with the marker) ended by
// three end packets, with audio between the keys.
type dtmfSender struct {
	p       *phone
	to      netip.AddrPort
	eventPT uint8
	seq     uint16
	ts      uint32
	sent    int // event packets sent
}

func (d *dtmfSender) packet(pt uint8, marker bool, payload []byte) {
	d.seq++
	d.p.send(d.to, rtp.Header{PayloadType: pt, Marker: marker, SequenceNumber: d.seq, Timestamp: d.ts, SSRC: 0xD7D7}, payload)
}

func (d *dtmfSender) keys(keys string) {
	for _, k := range keys {
		ev := byte(strings.IndexRune(dtmfDigits, k))
		for i := range 5 {
			d.packet(d.eventPT, i == 0, []byte{ev, 10, 0, byte(160 * (i + 1))})
		}
		for range 3 {
			d.packet(d.eventPT, false, []byte{ev, 0x8a, 3, 32})
		}
		d.sent += 8
		d.ts += 800
		for range 3 { // 60 ms of audio before the next key
			d.packet(0, false, make([]byte, frameSamples))
			d.ts += frameSamples
		}
	}
}

// digitRecorder collects what OnDTMF reports.
type digitRecorder chan rune

func (r digitRecorder) on(d rune) { r <- d }

// expect waits for exactly want, then checks nothing more comes.
func (r digitRecorder) expect(t *testing.T, want string) {
	t.Helper()
	var got []rune
	for len(got) < len([]rune(want)) {
		select {
		case d := <-r:
			got = append(got, d)
		case <-time.After(time.Second):
			t.Fatalf("got digits %q, want %q", string(got), want)
		}
	}
	select {
	case d := <-r:
		got = append(got, d)
	case <-time.After(100 * time.Millisecond):
	}
	if string(got) != want {
		t.Fatalf("got digits %q, want %q", string(got), want)
	}
}

func TestOnDTMFOverUDP(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t)
	ph := newPhone(t)
	s := openSession(t, a)
	s.SetRemote(ph.addr(), Format{Codec: PCMU, EventPT: 101})
	s.Start(0, nil)
	rec := make(digitRecorder, 16)
	s.OnDTMF(rec.on)
	send := &dtmfSender{p: ph, to: s.LocalAddr(), eventPT: 101}
	send.keys("#72")
	rec.expect(t, "#72")

	// An event payload type the session did not negotiate is not DTMF.
	send.eventPT = 100
	send.keys("5")
	rec.expect(t, "")

	s.OnDTMF(nil)
	send.eventPT = 101
	send.keys("9")
	for s.PacketsReceived() < uint64(3*11+2*11) {
		time.Sleep(time.Millisecond)
	}
	rec.expect(t, "")
}

// A stranger's events are dropped with the rest of its packets: it cannot
// press keys in somebody else's call.
func TestOnDTMFIgnoresStrangers(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t)
	ph := newPhone(t)
	s := openSession(t, a)
	s.SetRemote(ph.addr(), Format{Codec: PCMU, EventPT: 101})
	s.SetLatch(LatchSDP, netip.Addr{})
	s.Start(0, nil)
	rec := make(digitRecorder, 16)
	s.OnDTMF(rec.on)

	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.2:0")))
	if err != nil {
		t.Skipf("no 127.0.0.2 here: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	stranger := &dtmfSender{p: &phone{tb: t, conn: c}, to: s.LocalAddr(), eventPT: 101}
	stranger.keys("#72")
	for s.PacketsRejected() < uint64(3*11) {
		time.Sleep(time.Millisecond)
	}
	rec.expect(t, "")

	(&dtmfSender{p: ph, to: s.LocalAddr(), eventPT: 101}).keys("1")
	rec.expect(t, "1")
}

// DTMF detection on a bridged leg does not swallow the events: the other
// leg gets every one, at its own event payload type.
func TestOnDTMFBridgedStillRelays(t *testing.T) {
	t.Parallel()
	sa, _, pa, pb := bridged(t, Format{PCMU, 0, 101}, Format{PCMA, 8, 96})
	rec := make(digitRecorder, 16)
	sa.OnDTMF(rec.on)
	send := &dtmfSender{p: pa, to: sa.LocalAddr(), eventPT: 101}
	send.keys("#72")
	rec.expect(t, "#72")

	var events []byte
	for {
		r, ok := pb.recv(200 * time.Millisecond)
		if !ok {
			break
		}
		if r.pkt.PayloadType == 96 {
			if len(events) == 0 || events[len(events)-1] != r.pkt.Payload[0] {
				events = append(events, r.pkt.Payload[0])
			}
		} else if r.pkt.PayloadType != uint8(PCMA) {
			t.Fatalf("the other leg got PT %d", r.pkt.PayloadType)
		}
	}
	if string(events) != "\x0b\x07\x02" {
		t.Fatalf("the other leg got events %v, want # 7 2", events)
	}
}

func TestDTMFDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	rig, step := newRelayRig(t, Format{PCMU, 0, 101}, Format{PCMA, 8, 96})
	// Every packet of the step has a new timestamp and the marker: a new
	// key press each, the most work the detector does.
	rig.template = rig.template[:rtpHeaderLen+telephoneEventLen]
	rig.template[1] = 0x80 | 101
	copy(rig.template[rtpHeaderLen:], []byte{11, 10, 0, 160})
	if n := testing.AllocsPerRun(500, step); n != 0 {
		t.Errorf("event without a callback: %v allocs per packet", n)
	}
	var pressed int
	rig.a.OnDTMF(func(rune) { pressed++ })
	if n := testing.AllocsPerRun(500, step); n != 0 {
		t.Errorf("event with a callback: %v allocs per packet", n)
	}
	if pressed < 500 {
		t.Fatalf("callback ran %d times", pressed)
	}
	if binary.BigEndian.Uint16(rig.template[2:]) != 1 {
		t.Fatal("template changed under the rig")
	}
}
