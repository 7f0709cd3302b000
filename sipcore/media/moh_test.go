package media

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// newTestSource is the builtin source with a quiet logger.
func newTestSource() *Source {
	src := NewBuiltinSource()
	src.SetLogger(testLogger())
	return src
}

// runSource runs src until the test ends.
func runSource(t *testing.T, src *Source) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { src.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// frameIndex finds which frame of src a payload is, or -1.
func frameIndex(src *Source, codec Codec, payload []byte) int {
	all := src.ulaw
	if codec == PCMA {
		all = src.alaw
	}
	for i := range src.frames {
		if bytes.Equal(all[i*frameSamples:(i+1)*frameSamples], payload) {
			return i
		}
	}
	return -1
}

func TestBuiltinMusic(t *testing.T) {
	pcm := builtinMusic()
	if len(pcm) != 8*sampleRate {
		t.Fatalf("builtin loop is %d samples, want 8 s", len(pcm))
	}
	peak := 0
	for _, v := range pcm {
		peak = max(peak, int(math.Abs(float64(v))))
	}
	if dbfs := 20 * math.Log10(float64(peak)/math.MaxInt16); dbfs < -13 || dbfs > -11 {
		t.Errorf("peak %.1f dBFS, want about -12", dbfs)
	}
	// Seamless loop: no jump at the wrap larger than inside the music.
	if d := math.Abs(float64(pcm[0]) - float64(pcm[len(pcm)-1])); d > 3000 {
		t.Errorf("click at the loop point: %v", d)
	}
	src := newTestSource()
	if src.Name() != "builtin" || src.frames != 400 {
		t.Fatalf("builtin source %q has %d frames", src.Name(), src.frames)
	}
}

func TestNewSourceFromPCMPadsToFrames(t *testing.T) {
	src := NewSourceFromPCM("x", make([]int16, 161))
	if src.frames != 2 || len(src.ulaw) != 320 || len(src.alaw) != 320 {
		t.Fatalf("got %d frames", src.frames)
	}
	if src.ulaw[319] != 0xFF || src.alaw[319] != 0xD5 {
		t.Fatal("padding is not silence")
	}
	if NewSourceFromPCM("empty", nil).frames != 1 {
		t.Fatal("empty source must still have one frame")
	}
}

func TestMOHDelivery(t *testing.T) {
	t.Parallel()
	for _, codec := range []Codec{PCMU, PCMA} {
		t.Run(codec.String(), func(t *testing.T) {
			t.Parallel()
			a := newTestAllocator(t)
			src := newTestSource()
			runSource(t, src)
			ph := newPhone(t)
			s := openSession(t, a)
			s.SetRemote(ph.addr(), Format{Codec: codec, AudioPT: uint8(codec), EventPT: 101})
			s.Start(0, nil)
			src.Add(s)
			if src.Listeners() != 1 {
				t.Fatalf("Listeners() = %d", src.Listeners())
			}

			const n = 25
			start := time.Now()
			var got []received
			for i := range n {
				r, ok := ph.recv(time.Second)
				if !ok {
					t.Fatalf("packet %d: nothing within 1s (after %v)", i, time.Since(start))
				}
				got = append(got, r)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("%d packets took %v", n, el)
			}
			first := got[0].pkt
			base := frameIndex(src, codec, first.Payload)
			if base < 0 {
				t.Fatal("first payload is not a frame of the source")
			}
			var gaps []time.Duration
			for i, r := range got {
				p := r.pkt
				if r.from != s.LocalAddr() {
					t.Errorf("packet %d from %v, want the session's port %v", i, r.from, s.LocalAddr())
				}
				if p.Version != 2 || p.PayloadType != uint8(codec) || p.SSRC != first.SSRC {
					t.Fatalf("packet %d: version %d pt %d ssrc %#x", i, p.Version, p.PayloadType, p.SSRC)
				}
				if p.SequenceNumber != first.SequenceNumber+uint16(i) {
					t.Errorf("packet %d: seq %d, want %d", i, p.SequenceNumber, first.SequenceNumber+uint16(i))
				}
				if p.Timestamp != first.Timestamp+uint32(i*frameSamples) {
					t.Errorf("packet %d: ts %d, want %d", i, p.Timestamp, first.Timestamp+uint32(i*frameSamples))
				}
				if p.Marker != (i == 0) {
					t.Errorf("packet %d: marker %v", i, p.Marker)
				}
				if len(p.Payload) != frameSamples || frameIndex(src, codec, p.Payload) != (base+i)%src.frames {
					t.Errorf("packet %d: payload is not frame %d", i, (base+i)%src.frames)
				}
				if i > 0 {
					gaps = append(gaps, r.at.Sub(got[i-1].at))
				}
			}
			if first.SSRC != s.ssrc() {
				t.Errorf("SSRC %#x, session's is %#x", first.SSRC, s.ssrc())
			}
			logJitter(t, gaps)
			// A packet is counted once the kernel took it, which the
			// phone may see first: give the count a moment.
			for deadline := time.Now().Add(time.Second); s.PacketsSent() < n && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			if s.PacketsSent() < n {
				t.Errorf("PacketsSent() = %d, want at least %d", s.PacketsSent(), n)
			}
		})
	}
}

func logJitter(t *testing.T, gaps []time.Duration) {
	var sum, worst time.Duration
	for _, g := range gaps {
		sum += g
		worst = max(worst, (g - frameDuration).Abs())
	}
	t.Logf("inter-arrival: mean %v, worst deviation from 20ms %v", sum/time.Duration(len(gaps)), worst)
}

// The phone's SDP says one port but it sends from another: after its first
// packet the MOH must follow the packet's source.
func TestMOHSymmetricRTPLatch(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t)
	src := newTestSource()
	runSource(t, src)
	decoy := newPhone(t) // where the SDP points
	ph := newPhone(t)    // where the phone really is
	s := openSession(t, a)
	s.SetRemote(decoy.addr(), Format{Codec: PCMU})
	s.Start(0, nil)
	src.Add(s)
	decoy.mustRecv(time.Second) // MOH initially goes to the SDP address

	ph.send(s.LocalAddr(), rtp.Header{PayloadType: 0, SequenceNumber: 1, Timestamp: 1, SSRC: 42}, make([]byte, 160))
	r := ph.mustRecv(time.Second)
	if r.pkt.PayloadType != 0 || len(r.pkt.Payload) != frameSamples {
		t.Fatalf("unexpected packet %v", r.pkt.Header)
	}
	if s.Remote() != ph.addr() {
		t.Fatalf("Remote() = %v, want latched %v", s.Remote(), ph.addr())
	}
	if s.PacketsReceived() != 1 {
		t.Fatalf("PacketsReceived() = %d", s.PacketsReceived())
	}
	// The decoy stops getting audio (allow what was already in flight).
	decoy.drain(100 * time.Millisecond)
	if _, ok := decoy.recv(100 * time.Millisecond); ok {
		t.Fatal("MOH still goes to the SDP address after the latch")
	}

	// Re-INVITE with the same SDP address keeps the latch...
	s.SetRemote(decoy.addr(), Format{Codec: PCMA})
	if s.Remote() != ph.addr() {
		t.Fatalf("same SDP address dropped the latch: Remote() = %v", s.Remote())
	}
	// ...and the new codec takes effect on the next tick (PCMU packets
	// queued at the phone meanwhile come first). MOH never goes quiet, so
	// read through the backlog instead of draining.
	for deadline := time.Now().Add(2 * time.Second); ; {
		r := ph.mustRecv(time.Second)
		if r.pkt.PayloadType == uint8(PCMA) && frameIndex(src, PCMA, r.pkt.Payload) >= 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after re-INVITE to PCMA still getting PT %d", r.pkt.PayloadType)
		}
	}
}

// A single stray packet from elsewhere must not steal an established
// latch; a source that keeps sending does.
func TestRelatchNeedsConsecutivePackets(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t)
	s := openSession(t, a)
	ph, other := newPhone(t), newPhone(t)
	s.SetRemote(ph.addr(), Format{Codec: PCMU})
	s.Start(0, nil)
	hdr := rtp.Header{PayloadType: 0, SSRC: 7}
	send := func(p *phone, seq uint16) {
		hdr.SequenceNumber = seq
		p.send(s.LocalAddr(), hdr, make([]byte, 160))
	}
	waitRecv := func(n uint64) {
		deadline := time.Now().Add(2 * time.Second)
		for s.PacketsReceived() < n {
			if time.Now().After(deadline) {
				t.Fatalf("session received %d packets, want %d", s.PacketsReceived(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	send(ph, 1)
	waitRecv(1)
	send(other, 2)
	send(ph, 3)
	send(other, 4)
	waitRecv(4)
	if s.Remote() != ph.addr() {
		t.Fatalf("interleaved stray packets moved the latch to %v", s.Remote())
	}
	for i := range relinkAfter {
		send(other, uint16(5+i))
	}
	waitRecv(4 + relinkAfter)
	if s.Remote() != other.addr() {
		t.Fatalf("steady new source not latched: Remote() = %v", s.Remote())
	}
}

func TestMOHRemoveReAddAndSetSending(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t)
	src := newTestSource()
	runSource(t, src)
	ph := newPhone(t)
	s := openSession(t, a)
	s.SetRemote(ph.addr(), Format{Codec: PCMU})
	src.Add(s)
	src.Add(s) // no-op: must not restart the stream
	var last rtp.Header
	for i := range 5 {
		last = ph.mustRecv(time.Second).pkt.Header
		if last.Marker != (i == 0) {
			t.Fatalf("packet %d marker %v", i, last.Marker)
		}
	}
	src.Remove(s)
	if src.Listeners() != 0 {
		t.Fatalf("Listeners() = %d after Remove", src.Listeners())
	}
	for {
		r, ok := ph.recv(100 * time.Millisecond)
		if !ok {
			break
		}
		last = r.pkt.Header
	}

	// Back on hold: same SSRC, sequence continues, timestamp moved on by at
	// least the silence, marker set.
	src.Add(s)
	h := ph.mustRecv(time.Second).pkt.Header
	if h.SSRC != last.SSRC || h.SequenceNumber != last.SequenceNumber+1 || !h.Marker {
		t.Fatalf("after re-Add: ssrc %#x seq %d marker %v; before: ssrc %#x seq %d", h.SSRC, h.SequenceNumber, h.Marker, last.SSRC, last.SequenceNumber)
	}
	if d := h.Timestamp - last.Timestamp; d < 100*8 || d > 1<<30 {
		t.Fatalf("timestamp advanced by %d over >=100 ms of silence", d)
	}

	// SetSending(false) silences the session without detaching it.
	s.SetSending(false)
	ph.drain(60 * time.Millisecond)
	if _, ok := ph.recv(100 * time.Millisecond); ok {
		t.Fatal("packets while SetSending(false)")
	}
	if src.Listeners() != 1 {
		t.Fatal("SetSending(false) detached the session")
	}
	s.SetSending(true)
	if h := ph.mustRecv(time.Second).pkt.Header; !h.Marker {
		t.Fatal("resumed stream has no marker")
	}
}

// The fan-out pool must deliver each listener's frame exactly once.
func TestMOHTickWithPoolReachesEveryListener(t *testing.T) {
	t.Parallel()
	const listeners = 300
	a := newTestAllocator(t)
	sink := newPhone(t)
	_ = sink.conn.SetReadBuffer(4 << 20)
	src := newTestSource()
	for range listeners {
		s := openSession(t, a)
		s.SetRemote(sink.addr(), Format{Codec: PCMA})
		src.Add(s)
	}
	pool := newFanoutPool(4, testLogger())
	defer pool.close()
	pool.minPart = 4 // 30 listeners per phase: still split among the helpers
	src.tick(pool)
	ssrcs := map[uint32]bool{}
	for range listeners {
		r := sink.mustRecv(time.Second)
		if ssrcs[r.pkt.SSRC] {
			t.Fatalf("SSRC %#x got the frame twice", r.pkt.SSRC)
		}
		if frameIndex(src, PCMA, r.pkt.Payload) != 0 {
			t.Fatal("listener did not get frame 0")
		}
		ssrcs[r.pkt.SSRC] = true
	}
	if _, ok := sink.recv(50 * time.Millisecond); ok {
		t.Fatal("more packets than listeners")
	}
}

func TestRunTwiceIsRefused(t *testing.T) {
	src := newTestSource()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { src.Run(ctx); close(done) }()
	for !src.running.Load() {
		time.Sleep(time.Millisecond)
	}
	second := make(chan struct{})
	go func() { src.Run(ctx); close(second) }()
	select {
	case <-second:
	case <-time.After(time.Second):
		t.Fatal("second Run did not return")
	}
	cancel()
	<-done
}

// MoveListeners puts a listening session on the other source in one step:
// its packets continue (same SSRC, next sequence number) with the other
// source's audio, and a session in a bridge is not touched.
func TestMOHMoveListeners(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t)
	from := newTestSource()
	level := make([]int16, 800)
	for i := range level {
		level[i] = 1000
	}
	to := NewSourceFromPCM("level", level)
	to.SetLogger(testLogger())
	runSource(t, from)
	runSource(t, to)
	ph := newPhone(t)
	s := openSession(t, a)
	s.SetRemote(ph.addr(), Format{Codec: PCMU})
	from.Add(s)
	before := ph.mustRecv(time.Second).pkt

	if n := from.MoveListeners(to); n != 1 || from.Listeners() != 0 || to.Listeners() != 1 {
		t.Fatalf("moved %d; listeners %d → %d, want 1, 0 and 1", n, from.Listeners(), to.Listeners())
	}
	want := bytes.Repeat([]byte{EncodeUlaw(1000)}, 160)
	deadline := time.Now().Add(time.Second)
	for {
		r := ph.mustRecv(time.Second)
		if r.pkt.SSRC != before.SSRC {
			t.Fatalf("SSRC changed from %#x to %#x", before.SSRC, r.pkt.SSRC)
		}
		if bytes.Equal(r.pkt.Payload, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the moved session never got the other source's audio")
		}
	}
	if n := to.MoveListeners(to); n != 0 {
		t.Errorf("moving a source onto itself moved %d", n)
	}
}
