package media

import (
	"time"
)

// connectedSilence is how long a latched peer may send nothing before the
// session's socket is disconnected again. A connected UDP socket sends
// without a route lookup per packet, but the kernel then drops datagrams
// from every other source: the peer moving to a new port or address (a NAT
// rebinding) would go unseen. So the socket is connected only while the
// latched peer is heard; once it falls silent the socket takes anyone's
// packets again, and symmetric RTP can re-latch as before.
const connectedSilence = 200 * time.Millisecond

// tuneConnection connects the socket to a latched peer that is sending, and
// disconnects it from one that went silent. Called after each write; costs
// a comparison unless the state changes. o.mu held (peerMu is taken inside).
func (s *Session) tuneConnection(st *peerState, now time.Time) {
	if !st.latched && !st.connected {
		return // the common case of a peer that sends nothing: no clock, no atomics
	}
	heard := int64(now.Sub(clockBase))-s.lastActivity.Load() < int64(connectedSilence)
	want := st.latched && heard && st.target.Addr().Is4() == s.local.Addr().Is4()
	if want == st.connected || s.connectFailed.Load() {
		return
	}
	s.peerMu.Lock()
	defer s.peerMu.Unlock()
	cur := s.peer.Load()
	if cur != st || s.sockClosing { // SetRemote or a latch moved on; the next packet decides again
		return
	}
	var err error
	if want {
		err = s.sock.connect(cur.target)
	} else {
		err = s.sock.disconnect()
	}
	if err != nil {
		// Sending unconnected always works; do not retry per packet.
		s.connectFailed.Store(true)
		s.log.Debug("rtp socket stays unconnected", "err", err)
		return
	}
	next := *cur
	next.connected = want
	s.peer.Store(&next)
}

// unconnectLocked prepares next, which replaces cur: if the socket is
// connected and next sends elsewhere (or is no longer latched), disconnect
// it first, so it hears every allowed source again. peerMu held.
func (s *Session) unconnectLocked(cur, next *peerState) {
	if !cur.connected {
		next.connected = false
		return
	}
	if next.latched && next.target == cur.target {
		next.connected = true
		return
	}
	if s.sockClosing {
		next.connected = false // and nothing is sent any more
		return
	}
	if err := s.sock.disconnect(); err != nil {
		s.connectFailed.Store(true) // stuck connected: sends still go by address
		s.log.Warn("rtp socket could not be disconnected", "err", err)
	}
	next.connected = false
}

// writeConn writes pkt to st.target: on the connected socket without an
// address when it is connected there, else with sendto. A write on the
// connected socket that fails (it was just disconnected, or it reports a
// peer's earlier ICMP error) is retried once by address.
func (s *Session) writeConn(pkt []byte, st *peerState) error {
	if st.connected {
		if err := s.sock.write(pkt); err == nil {
			return nil
		}
	}
	return s.sock.writeTo(pkt, st.target)
}
