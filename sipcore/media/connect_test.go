package media

import (
	"context"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// connectRig is a started session on MOH whose peer is a real phone on
// loopback; music is sent by ticking the source by hand.
type connectRig struct {
	t   *testing.T
	s   *Session
	src *Source
	seq uint16
}

func newConnectRig(t *testing.T, sdp *phone) *connectRig {
	s := openSession(t, newTestAllocator(t))
	s.SetRemote(sdp.addr(), Format{Codec: PCMU})
	s.Start(0, nil)
	src := newTestSource()
	src.Add(s)
	return &connectRig{t: t, s: s, src: src}
}

func (r *connectRig) talk(from *phone) {
	r.seq++
	from.send(r.s.LocalAddr(), rtp.Header{PayloadType: 0, SequenceNumber: r.seq, Timestamp: uint32(r.seq) * frameSamples, SSRC: 0xfeed}, audioPayload(1, PCMU))
}

// until ticks the music (and lets talk run first) until ok holds; it fails
// the test if that never happens within 3 s.
func (r *connectRig) until(what string, talk func(), ok func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			r.t.Fatalf("never: %s", what)
		}
		if talk != nil {
			talk()
		}
		time.Sleep(5 * time.Millisecond)
		r.src.tick(nil)
	}
}

func (r *connectRig) connected() bool { return r.s.peer.Load().connected }

// heard drains p and reports whether any music from the session arrived.
func heard(p *phone) bool {
	got := false
	for {
		if _, ok := p.recv(time.Millisecond); !ok {
			return got
		}
		got = true
	}
}

// A latched peer that sends gets the music over a connected socket; when
// it falls silent and its audio comes from a new port (a NAT rebinding,
// no re-INVITE), the socket is disconnected, the session re-latches there
// and the music follows, connected again.
func TestConnectedSocketFollowsAPeerThatMoves(t *testing.T) {
	t.Parallel()
	first, moved := newPhone(t), newPhone(t)
	r := newConnectRig(t, first)
	r.until("connected to the latched peer", func() { r.talk(first) }, r.connected)
	if got := r.s.Remote(); got != first.addr() {
		t.Fatalf("sending to %v, want %v", got, first.addr())
	}
	heard(first)
	r.src.tick(nil)
	if !heard(first) {
		t.Fatal("no music over the connected socket")
	}
	r.until("re-latched on the new port", func() { r.talk(moved) }, func() bool { return r.s.Remote() == moved.addr() })
	heard(moved)
	r.until("connected to the new port", func() { r.talk(moved) }, r.connected)
	heard(first)
	r.src.tick(nil)
	if !heard(moved) {
		t.Fatal("no music at the peer's new port")
	}
	if heard(first) {
		t.Fatal("music still goes to the old port")
	}
}

// A re-INVITE to a new address disconnects the socket at once: the music
// goes to the new SDP address, whose packets latch and connect as usual.
func TestConnectedSocketReInviteMovesTheMusic(t *testing.T) {
	t.Parallel()
	first, second := newPhone(t), newPhone(t)
	r := newConnectRig(t, first)
	r.until("connected to the latched peer", func() { r.talk(first) }, r.connected)

	r.s.SetRemote(second.addr(), Format{Codec: PCMA})
	if r.connected() {
		t.Fatal("still connected after SetRemote moved the peer")
	}
	heard(first)
	r.src.tick(nil)
	pkt := second.mustRecv(time.Second).pkt
	if pkt.PayloadType != uint8(PCMA) {
		t.Fatalf("PT %d after the re-INVITE, want PCMA", pkt.PayloadType)
	}
	if heard(first) {
		t.Fatal("music still goes to the old address")
	}
	// A packet the old peer sent before the move may still be queued and
	// latch the session back to it; once that peer is silent for
	// connectedSilence the socket lets the new one in again. What must
	// hold is where it ends up: connected, to the new peer.
	r.until("connected to the new peer", func() { r.talk(second) }, func() bool {
		return r.connected() && r.s.Remote() == second.addr()
	})
}

// Bridged over connected sockets, audio flows both ways and keeps flowing.
func TestConnectedSocketsRelay(t *testing.T) {
	t.Parallel()
	alloc := newTestAllocator(t)
	a, b := openSession(t, alloc), openSession(t, alloc)
	pa, pb := newPhone(t), newPhone(t)
	a.SetRemote(pa.addr(), Format{Codec: PCMU})
	b.SetRemote(pb.addr(), Format{Codec: PCMU})
	a.Start(0, nil)
	b.Start(0, nil)
	if err := Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var seq uint16
	for !a.peer.Load().connected || !b.peer.Load().connected {
		if ctx.Err() != nil {
			t.Fatal("the bridged legs never connected their sockets")
		}
		seq++
		h := rtp.Header{PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * frameSamples, SSRC: 1}
		pa.send(a.LocalAddr(), h, audioPayload(1, PCMU))
		pb.send(b.LocalAddr(), h, audioPayload(1, PCMU))
		time.Sleep(5 * time.Millisecond)
	}
	pa.drain(20 * time.Millisecond)
	pb.drain(20 * time.Millisecond)
	seq++
	pa.send(a.LocalAddr(), rtp.Header{PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * frameSamples, SSRC: 1}, audioPayload(1, PCMU))
	if got := pb.mustRecv(time.Second); got.from != b.LocalAddr() {
		t.Fatalf("B's phone got audio from %v, want %v", got.from, b.LocalAddr())
	}
	pb.send(b.LocalAddr(), rtp.Header{PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * frameSamples, SSRC: 1}, audioPayload(1, PCMU))
	if got := pa.mustRecv(time.Second); got.from != a.LocalAddr() {
		t.Fatalf("A's phone got audio from %v, want %v", got.from, a.LocalAddr())
	}
}
