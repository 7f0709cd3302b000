package media

import "errors"

// Errors returned by Bridge.
var (
	ErrSessionClosed  = errors.New("media: session is closed")
	ErrAlreadyBridged = errors.New("media: session is already bridged")
)

// relayLink is one direction of a bridge, held by the receiving session:
// packets read on it go to `to`, whose output stream it owns as gen.
type relayLink struct {
	to  *Session
	gen uint64
}

// Bridge relays RTP between a and b in both directions until Unbridge or
// Close of either. Each direction is relayed by whoever reads the
// receiving session (an RTP poller, which takes both sessions' sockets
// while they are bridged), so a bridge adds no goroutines. Both sessions are taken off
// any MOH source and a Play of either is cut short first; their outgoing
// streams continue (same SSRC, continuing seq/timestamps, marker on the
// first relayed packet).
func Bridge(a, b *Session) error {
	if a == nil || b == nil {
		return errors.New("media: bridge needs two sessions")
	}
	if a == b {
		return errors.New("media: cannot bridge a session to itself")
	}
	controlMu.Lock()
	defer controlMu.Unlock()
	if a.closed || b.closed {
		return ErrSessionClosed
	}
	if a.bridgePeer != nil || b.bridgePeer != nil {
		return ErrAlreadyBridged
	}
	for _, s := range [...]*Session{a, b} {
		if s.moh != nil {
			s.moh.removeLocked(s)
		}
		stopPlayLocked(s)
	}
	a.bridgePeer, b.bridgePeer = b, a
	// Into a poller before the link: what either leg sent before the
	// bridge is read there and not relayed.
	for _, s := range [...]*Session{a, b} {
		s.relaying(true)
	}
	genA, genB := a.out.takeOwner(), b.out.takeOwner()
	a.link.Store(&relayLink{to: b, gen: genB})
	b.link.Store(&relayLink{to: a, gen: genA})
	a.log.Debug("rtp bridged", "peer", b.local)
	b.log.Debug("rtp bridged", "peer", a.local)
	return nil
}

// relaying moves s's input between the quiet sweep and a poller (see
// udpSocket.setRelaying). controlMu held.
func (s *Session) relaying(on bool) {
	if err := s.sock.setRelaying(on); err != nil {
		s.log.Warn("rtp input read every 100 ms by the quiet sweep instead of at once", "error", err)
	}
}

// Unbridge stops relaying between a and its bridge peer. Both sessions stay
// open and silent until attached to something else. Idempotent.
func Unbridge(a *Session) {
	if a == nil {
		return
	}
	controlMu.Lock()
	defer controlMu.Unlock()
	unbridgeLocked(a)
}

func unbridgeLocked(a *Session) {
	b := a.bridgePeer
	if b == nil {
		return
	}
	a.link.Store(nil)
	b.link.Store(nil)
	a.bridgePeer, b.bridgePeer = nil, nil
	a.relaying(false)
	b.relaying(false)
	// A packet the other leg's reader is forwarding right now carries the
	// old generation and is dropped.
	a.out.releaseOwner()
	b.out.releaseOwner()
	a.log.Debug("rtp unbridged", "peer", b.local)
	b.log.Debug("rtp unbridged", "peer", a.local)
}

// forward relays one valid packet received on s to the bridge peer: map
// the payload type, transcode in place if the laws differ, and rewrite the
// header in place in the 12 bytes before the payload (CSRCs, extensions and
// padding are dropped — they described the upstream hop, not ours). This is
// the hot path: zero allocations. The packet goes out with out's batch.
func (s *Session) forward(pkt []byte, p rtpPacket, link *relayLink, out *sendBatch) {
	if p.payloadEnd == p.payloadOff {
		return // empty keep-alive: nothing to play
	}
	in := s.peer.Load().format
	dst := link.to
	to := dst.peer.Load()
	if !to.target.IsValid() {
		return
	}
	var pt uint8
	switch {
	case p.pt == in.AudioPT:
		pt = to.format.AudioPT
		transcodeInPlace(pkt[p.payloadOff:p.payloadEnd], in.Codec, to.format.Codec)
	case in.EventPT != 0 && p.pt == in.EventPT:
		if to.format.EventPT == 0 {
			return // the other side cannot receive RFC 4733 events
		}
		pt = to.format.EventPT // event payloads are codec independent
	default:
		return // comfort noise, unnegotiated or unknown payload types
	}
	dst.sendRelayed(link.gen, pkt[p.payloadOff-rtpHeaderLen:p.payloadEnd], p, pt, to, out)
}
