package media

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// testClip has frames that each hold a different level, so every packet
// can be matched to the frame it carries.
func testClip(frames int) *Clip {
	pcm := make([]int16, frames*frameSamples)
	for i := range pcm {
		v := int16(300 * (i/frameSamples + 1))
		if i%2 == 1 {
			v = -v
		}
		pcm[i] = v
	}
	return NewClip(pcm)
}

// clipFrameIndex finds which frame of c a payload is, or -1.
func clipFrameIndex(c *Clip, codec Codec, payload []byte) int {
	for i := range c.frames {
		u, a := c.frame(i)
		f := u
		if codec == PCMA {
			f = a
		}
		if bytes.Equal(f, payload) {
			return i
		}
	}
	return -1
}

// doneRecorder is a Play callback that records when and how it was called.
type doneRecorder struct {
	ch chan bool
	at chan time.Time
}

func newDoneRecorder() *doneRecorder {
	return &doneRecorder{ch: make(chan bool, 2), at: make(chan time.Time, 2)}
}

func (d *doneRecorder) done(finished bool) {
	d.at <- time.Now()
	d.ch <- finished
}

// wait returns done's argument and time; it fails the test if done is
// not called within timeout.
func (d *doneRecorder) wait(t *testing.T, timeout time.Duration) (bool, time.Time) {
	t.Helper()
	select {
	case ok := <-d.ch:
		return ok, <-d.at
	case <-time.After(timeout):
		t.Fatalf("done not called within %v", timeout)
	}
	return false, time.Time{}
}

func (d *doneRecorder) notAgain(t *testing.T) {
	t.Helper()
	select {
	case ok := <-d.ch:
		t.Fatalf("done called a second time (%v)", ok)
	case <-time.After(50 * time.Millisecond):
	}
}

// A session on hold music plays a clip: the phone gets every frame once,
// in order, in its codec, paced at 50 packets a second, continuing the
// stream it had; then done(true), then silence.
func TestPlayDelivery(t *testing.T) {
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
			src.Add(s)
			last := ph.mustRecv(time.Second).pkt.Header

			const frames = 15
			clip := testClip(frames)
			rec := newDoneRecorder()
			start := time.Now()
			s.Play(clip, rec.done)
			if src.Listeners() != 0 {
				t.Fatal("Play left the session on hold music")
			}

			var got []received
			for len(got) < frames {
				r := ph.mustRecv(time.Second)
				if len(got) == 0 && frameIndex(src, codec, r.pkt.Payload) >= 0 {
					last = r.pkt.Header // music already on its way
					continue
				}
				got = append(got, r)
			}
			var gaps []time.Duration
			for i, r := range got {
				p := r.pkt
				if idx := clipFrameIndex(clip, codec, p.Payload); idx != i {
					t.Fatalf("packet %d carries clip frame %d", i, idx)
				}
				if p.PayloadType != uint8(codec) || p.SSRC != last.SSRC {
					t.Errorf("packet %d: pt %d ssrc %#x, want %d %#x", i, p.PayloadType, p.SSRC, codec, last.SSRC)
				}
				if p.SequenceNumber != last.SequenceNumber+1+uint16(i) {
					t.Errorf("packet %d: seq %d, want %d", i, p.SequenceNumber, last.SequenceNumber+1+uint16(i))
				}
				if p.Marker != (i == 0) {
					t.Errorf("packet %d: marker %v", i, p.Marker)
				}
				if i > 0 {
					if d := p.Timestamp - got[i-1].pkt.Timestamp; d != frameSamples {
						t.Errorf("packet %d: timestamp advanced %d", i, d)
					}
					gaps = append(gaps, r.at.Sub(got[i-1].at))
				} else if d := p.Timestamp - last.Timestamp; d < frameSamples || d > 1<<30 {
					t.Errorf("first clip packet: timestamp moved %d from the music", d)
				}
			}
			logJitter(t, gaps)

			finished, at := rec.wait(t, 2*time.Second+clip.Duration())
			if !finished {
				t.Fatal("done(false) for a clip nobody interrupted")
			}
			// Plays start on the shared 20 ms tick, so the first frame may
			// leave up to a tick after Play: the last one's 20 ms are over
			// no earlier than a tick short of the clip's length.
			if el := at.Sub(start); el < clip.Duration()-frameDuration {
				t.Errorf("done after %v, before the clip's %v had played", el, clip.Duration())
			}
			if _, ok := ph.recv(100 * time.Millisecond); ok {
				t.Error("packets after the clip ended")
			}
			rec.notAgain(t)
		})
	}
}

// The typical use: a prompt, then music on hold from the done callback.
// The phone sees one stream without a sequence gap.
func TestPlayThenMOHFromDone(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t)
	src := newTestSource()
	runSource(t, src)
	ph := newPhone(t)
	s := openSession(t, a)
	s.SetRemote(ph.addr(), Format{Codec: PCMA, AudioPT: uint8(PCMA)})
	clip := testClip(5)
	finished := make(chan bool, 1)
	s.Play(clip, func(ok bool) {
		src.Add(s)
		finished <- ok
	})
	var last rtp.Header
	for i := range 5 {
		r := ph.mustRecv(time.Second)
		if clipFrameIndex(clip, PCMA, r.pkt.Payload) != i {
			t.Fatalf("packet %d is not clip frame %d", i, i)
		}
		last = r.pkt.Header
	}
	r := ph.mustRecv(time.Second)
	if frameIndex(src, PCMA, r.pkt.Payload) < 0 {
		t.Fatal("after the clip: not hold music")
	}
	h := r.pkt.Header
	if h.SSRC != last.SSRC || h.SequenceNumber != last.SequenceNumber+1 || !h.Marker {
		t.Fatalf("music after clip: ssrc %#x seq %d marker %v; clip ended ssrc %#x seq %d", h.SSRC, h.SequenceNumber, h.Marker, last.SSRC, last.SequenceNumber)
	}
	if d := h.Timestamp - last.Timestamp; d < frameSamples || d > 1<<30 {
		t.Fatalf("timestamp moved %d from the clip to the music", d)
	}
	if !<-finished {
		t.Fatal("done(false)")
	}
}

// Whatever takes the stream during a Play ends it: done(false) at once,
// the clip stops and the newcomer is heard.
func TestPlayPreempted(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// preempt takes s's stream; heard says whether ph now gets what
		// the newcomer sends (nil: nothing at all).
		preempt func(t *testing.T, s *Session, env *preemptEnv)
		heard   func(t *testing.T, r received, env *preemptEnv) bool
	}{
		{
			name:    "Source.Add",
			preempt: func(t *testing.T, s *Session, env *preemptEnv) { env.src.Add(s) },
			heard: func(t *testing.T, r received, env *preemptEnv) bool {
				return frameIndex(env.src, PCMU, r.pkt.Payload) >= 0
			},
		},
		{
			name: "Bridge",
			preempt: func(t *testing.T, s *Session, env *preemptEnv) {
				if err := Bridge(s, env.other); err != nil {
					t.Fatal(err)
				}
				env.otherPhone.send(env.other.LocalAddr(), rtp.Header{PayloadType: 0, SSRC: 9, SequenceNumber: 1, Timestamp: 1}, audioPayload(3, PCMU))
			},
			heard: func(t *testing.T, r received, env *preemptEnv) bool {
				return bytes.Equal(r.pkt.Payload, audioPayload(3, PCMU))
			},
		},
		{
			name: "Play",
			preempt: func(t *testing.T, s *Session, env *preemptEnv) {
				s.Play(env.second, nil)
			},
			heard: func(t *testing.T, r received, env *preemptEnv) bool {
				return clipFrameIndex(env.second, PCMU, r.pkt.Payload) == 0 && r.pkt.Marker
			},
		},
		{
			name:    "Close",
			preempt: func(t *testing.T, s *Session, env *preemptEnv) { s.Close() },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newTestAllocator(t)
			env := &preemptEnv{src: newTestSource(), other: openSession(t, a), otherPhone: newPhone(t)}
			env.second = NewClip(bytesToPCM(3*frameSamples, 9000))
			runSource(t, env.src)
			env.other.SetRemote(env.otherPhone.addr(), Format{Codec: PCMU})
			env.other.Start(0, nil)
			ph := newPhone(t)
			s := openSession(t, a)
			s.SetRemote(ph.addr(), Format{Codec: PCMU})
			s.Start(0, nil)

			clip := testClip(100)
			rec := newDoneRecorder()
			s.Play(clip, rec.done)
			for i := range 3 {
				if idx := clipFrameIndex(clip, PCMU, ph.mustRecv(time.Second).pkt.Payload); idx != i {
					t.Fatalf("packet %d is clip frame %d", i, idx)
				}
			}
			tc.preempt(t, s, env)
			if finished, _ := rec.wait(t, time.Second); finished {
				t.Fatal("done(true) for a preempted clip")
			}
			// The player has returned: every clip packet it sent is queued
			// at the phone already. Read past them to the newcomer.
			clipFrames := 3
			for deadline := time.Now().Add(time.Second); ; {
				r, ok := ph.recv(100 * time.Millisecond)
				if !ok {
					if tc.heard != nil {
						t.Fatal("the newcomer is not heard after the clip")
					}
					break
				}
				if tc.heard != nil && tc.heard(t, r, env) {
					break
				}
				if clipFrameIndex(clip, PCMU, r.pkt.Payload) < 0 {
					t.Fatalf("unexpected packet %v", r.pkt.Header)
				}
				if clipFrames++; time.Now().After(deadline) || clipFrames >= clip.frames {
					t.Fatal("the clip kept playing")
				}
			}
			rec.notAgain(t)
		})
	}
}

type preemptEnv struct {
	src        *Source
	other      *Session
	otherPhone *phone
	second     *Clip
}

// Playing to a bridged session unbridges it: the other leg is no longer
// heard, and the other leg hears nothing of the clip.
func TestPlayUnbridges(t *testing.T) {
	t.Parallel()
	sa, sb, pa, pb := bridged(t, Format{PCMU, 0, 101}, Format{PCMU, 0, 101})
	clip := testClip(10)
	rec := newDoneRecorder()
	sa.Play(clip, rec.done)
	pb.send(sb.LocalAddr(), rtp.Header{PayloadType: 0, SSRC: 5, SequenceNumber: 1, Timestamp: 1}, audioPayload(1, PCMU))
	for i := range 10 {
		if idx := clipFrameIndex(clip, PCMU, pa.mustRecv(time.Second).pkt.Payload); idx != i {
			t.Fatalf("packet %d is clip frame %d (relayed audio leaking in?)", i, idx)
		}
	}
	if finished, _ := rec.wait(t, time.Second); !finished {
		t.Fatal("done(false)")
	}
	if _, ok := pa.recv(50 * time.Millisecond); ok {
		t.Fatal("more than the clip reached the playing leg")
	}
	if _, ok := pb.recv(50 * time.Millisecond); ok {
		t.Fatal("the other leg heard something")
	}
}

// A peer that holds the call hears nothing, but the clip still takes its
// time, so what follows it starts when it would have.
func TestPlayWhileOnHoldTakesItsTime(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t)
	ph := newPhone(t)
	s := openSession(t, a)
	s.SetRemote(ph.addr(), Format{Codec: PCMU})
	s.SetSending(false)
	clip := testClip(8)
	rec := newDoneRecorder()
	start := time.Now()
	s.Play(clip, rec.done)
	finished, at := rec.wait(t, 2*time.Second)
	if !finished {
		t.Fatal("done(false)")
	}
	// Plays share one ticker on a 20 ms grid, and a tick that fires late
	// can send a new clip's first frame after the grid time the rest of
	// the clip keeps to: the clip may end up to a frame short of its
	// duration after Play (159.7 ms of 160 ms seen under -race). A play
	// that ignored the hold would end within a frame or two.
	if el, least := at.Sub(start), clip.Duration()-frameDuration; el < least {
		t.Fatalf("done after %v, clip lasts %v: a held play must take its time, at least %v", el, clip.Duration(), least)
	}
	if _, ok := ph.recv(50 * time.Millisecond); ok {
		t.Fatal("a held peer got packets")
	}
}

func TestPlayEdgeCases(t *testing.T) {
	t.Parallel()
	a := newTestAllocator(t)
	s := openSession(t, a)
	s.SetRemote(newPhone(t).addr(), Format{Codec: PCMU})
	for _, c := range []*Clip{nil, NewClip(nil), Concat()} {
		rec := newDoneRecorder()
		s.Play(c, rec.done)
		if finished, _ := rec.wait(t, time.Second); !finished {
			t.Fatal("an empty clip did not finish")
		}
	}
	s.Play(testClip(1), nil) // nil done is allowed
	s.Close()
	rec := newDoneRecorder()
	s.Play(testClip(5), rec.done)
	if finished, _ := rec.wait(t, time.Second); finished {
		t.Fatal("Play on a closed session finished")
	}
}

func TestPlayFrameDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	a := newTestAllocator(t)
	s := openSession(t, a)
	s.SetRemote(newPhone(t).addr(), Format{Codec: PCMA, AudioPT: uint8(PCMA)})
	clip := testClip(10)
	p := &player{s: s, clip: clip, frames: clip.frames, gen: s.out.takeOwner()}
	out := newSendBatch(testLogger(), mohPacketLen)
	defer out.close()
	i := 0
	if n := testing.AllocsPerRun(200, func() { p.send(i%clip.frames, time.Now(), out); out.flush(); i++ }); n != 0 {
		t.Errorf("%v allocs per clip frame sent", n)
	}
	if s.PacketsSent() == 0 {
		t.Fatal("nothing was sent")
	}
}

// A clip joined from parts (an announcement: a prompt, then digits)
// plays every frame of every part once, in order, across the joins: the
// player finds each part once and walks it.
func TestPlayJoinedClipCrossesItsParts(t *testing.T) {
	a := newTestAllocator(t)
	s := openSession(t, a)
	ph := newPhone(t)
	s.SetRemote(ph.addr(), Format{Codec: PCMU})
	part := func(frames, base int) *Clip {
		pcm := make([]int16, frames*frameSamples)
		for i := range pcm {
			pcm[i] = int16(200 * (base + i/frameSamples + 1))
		}
		return NewClip(pcm)
	}
	clip := Concat(part(2, 0), part(1, 10), part(3, 20))
	rec := newDoneRecorder()
	s.Play(clip, rec.done)
	for want := range clip.frames {
		got := clipFrameIndex(clip, PCMU, ph.mustRecv(time.Second).pkt.Payload)
		if got != want {
			t.Fatalf("packet %d carries frame %d of the joined clip", want, got)
		}
	}
	if finished, _ := rec.wait(t, time.Second); !finished {
		t.Fatal("the joined clip did not finish")
	}
}
