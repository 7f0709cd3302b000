package media

import (
	"sync"
	"sync/atomic"
	"time"
)

// outStream is a session's outgoing RTP stream: one SSRC whose sequence
// numbers and timestamps continue across whatever feeds it (MOH, then a
// bridge, then MOH again...).
//
// Exactly one feeder owns the stream at a time. takeOwner hands out a new
// generation number; writes carrying any other generation are dropped. So
// an MOH tick or a relayed packet that raced with an attach/detach can
// never slip between the new owner's packets with stale numbering. mu is
// held across header rewrite and write; it is uncontended in steady state
// because only the current owner gets past the generation check.
type outStream struct {
	mu         sync.Mutex
	gen        atomic.Uint64 // written under mu; a sendBatch reads it without
	sending    atomic.Bool   // written under mu; a sendBatch reads it without
	ssrc       uint32
	seq        uint16 // last sequence number sent
	ts         uint32 // highest timestamp sent
	sentAny    bool
	sentAt     time.Time // when the last packet left
	newSegment bool      // next packet starts a talkspurt: marker + timestamp rebase
	failing    bool      // the last write failed (for logging state changes only)

	// Relay offsets for the current segment: out = in + offset, so loss
	// upstream stays visible downstream as sequence gaps.
	relaySSRC uint32
	seqOffset uint16
	tsOffset  uint32

	sent atomic.Uint64
}

func (o *outStream) init() {
	o.ssrc = randomUint32()
	o.seq = uint16(randomUint32())
	o.ts = randomUint32()
	o.sending.Store(true)
	o.newSegment = true
}

// takeOwner makes the caller the stream's only feeder and returns the
// generation to pass with each write. The next packet starts a new
// segment. Once it returns, no packet of the previous feeder goes out:
// one written before is sent or dropped by then (waitForBatches).
func (o *outStream) takeOwner() uint64 {
	o.mu.Lock()
	gen := o.gen.Add(1)
	o.newSegment = true
	o.mu.Unlock()
	waitForBatches()
	return gen
}

// releaseOwner leaves the stream without a feeder.
func (o *outStream) releaseOwner() { o.takeOwner() }

// setSending starts or stops the stream (a hold); once it is stopped no
// packet written before goes out, as with takeOwner.
func (o *outStream) setSending(on bool) {
	o.mu.Lock()
	if on && !o.sending.Load() {
		o.newSegment = true
	}
	o.sending.Store(on)
	o.mu.Unlock()
	if !on {
		waitForBatches()
	}
}

// segmentStartTS picks the timestamp of the first packet of a new segment:
// the last timestamp advanced by the wall-clock time since it was sent (at
// least one frame), so the receiver's jitter buffer sees time move forward
// consistently. mu held.
func (o *outStream) segmentStartTS(now time.Time) uint32 {
	if !o.sentAny {
		return o.ts
	}
	samples := int64(now.Sub(o.sentAt)) * sampleRate / int64(time.Second)
	if samples < frameSamples {
		samples = frameSamples
	}
	return o.ts + uint32(samples)
}

// sendMOH sends one 20 ms MOH frame to the session, in its codec,
// written in b's next slot and queued there (or, without a ring, sent at
// once). Zero allocations.
func (s *Session) sendMOH(gen uint64, b *sendBatch, f frame) {
	peer := s.peer.Load()
	if !peer.target.IsValid() {
		return
	}
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if gen != o.gen.Load() || !o.sending.Load() {
		return
	}
	now := f.at
	marker := o.newSegment
	ts := o.ts + frameSamples
	if marker {
		ts = o.segmentStartTS(now)
		o.newSegment = false
	}
	o.seq++
	o.ts = ts
	audio := f.ulaw
	if peer.format.Codec == PCMA {
		audio = f.alaw
	}
	buf := b.next()[:mohPacketLen]
	copy(buf[rtpHeaderLen:], audio)
	putRTPHeader(buf, marker, peer.format.AudioPT, o.seq, ts, o.ssrc)
	if !s.queueLocked(b, gen, buf, peer, now) {
		s.writeLocked(buf, peer, now)
	}
}

// queueLocked hands a finished packet to out's batch instead of writing
// it, and reports whether it did. A session whose last write failed
// writes at once, where writeLocked notices its recovery. The packet is
// counted when it is sent (sendBatch.flush, sendFailed). o.mu held.
func (s *Session) queueLocked(out *sendBatch, gen uint64, pkt []byte, peer *peerState, now time.Time) bool {
	o := &s.out
	if o.failing || !out.add(s, gen, peer, pkt) {
		return false
	}
	o.sentAny = true
	o.sentAt = now
	s.tuneConnection(peer, now)
	return true
}

// sendFailed is a batched packet's failed send. One on the connected
// socket is retried by address, as writeConn does, and counted if that
// works; a packet that still cannot go is logged once, as writeLocked
// does. If the stream has changed feeder since, the packet is stale and
// dropped without a word: the change itself (an unbridge disconnecting
// the socket) is what made it fail.
func (s *Session) sendFailed(gen uint64, pkt []byte, connected bool, err error) {
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if gen != o.gen.Load() || !o.sending.Load() {
		return
	}
	if connected {
		if peer := s.peer.Load(); peer.target.IsValid() {
			err = s.sock.writeTo(pkt, peer.target)
		}
	}
	if err == nil {
		o.sent.Add(1)
		return
	}
	if !o.failing {
		o.failing = true
		s.log.Warn("rtp send failing", "to", s.peer.Load().target, "err", err)
	}
}

// sendRelayed sends a relayed packet whose payload is already in the
// destination codec. pkt has 12 spare bytes in front of the payload where
// the new header is written. It goes out with out's batch (nil: at once).
// Zero allocations.
func (s *Session) sendRelayed(gen uint64, pkt []byte, in rtpPacket, pt uint8, peer *peerState, out *sendBatch) {
	o := &s.out
	o.mu.Lock()
	defer o.mu.Unlock()
	if gen != o.gen.Load() || !o.sending.Load() {
		return
	}
	now := time.Now()
	marker := in.marker // keep the sender's talkspurt and DTMF-event starts
	if o.newSegment || in.ssrc != o.relaySSRC {
		// First packet of this direction (or the upstream stream restarted):
		// continue our numbering seamlessly from what the peer last got.
		start := o.segmentStartTS(now)
		o.seqOffset = o.seq + 1 - in.seq
		o.tsOffset = start - in.ts
		o.relaySSRC = in.ssrc
		o.newSegment = false
		marker = true
	}
	seq := in.seq + o.seqOffset
	ts := in.ts + o.tsOffset
	// Late (reordered) packets keep their place but must not pull the
	// stream's notion of "last sent" backwards.
	if int16(seq-o.seq) > 0 {
		o.seq = seq
	}
	if int32(ts-o.ts) > 0 {
		o.ts = ts
	}
	putRTPHeader(pkt, marker, pt, seq, ts, o.ssrc)
	if !s.queueLocked(out, gen, pkt, peer, now) {
		s.writeLocked(pkt, peer, now)
	}
}

// writeLocked puts a finished packet on the wire to peer.target. o.mu held.
func (s *Session) writeLocked(pkt []byte, peer *peerState, now time.Time) {
	o := &s.out
	o.sentAny = true
	o.sentAt = now
	defer s.tuneConnection(peer, now)
	if err := s.writeConn(pkt, peer); err != nil {
		if !o.failing {
			o.failing = true
			s.log.Warn("rtp send failing", "to", peer.target, "err", err)
		}
		return
	}
	if o.failing {
		o.failing = false
		s.log.Info("rtp send recovered", "to", peer.target)
	}
	o.sent.Add(1)
}
