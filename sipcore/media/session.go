package media

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// controlMu guards every attachment between sessions, MOH sources and
// bridges (Session.moh, Session.bridgePeer, Session.closed/started). These
// change at call-setup rate, never per packet, and one lock makes Bridge —
// which touches two sessions and up to two sources — trivially free of lock
// ordering problems. The packet paths never take it.
var controlMu sync.Mutex

// relinkAfter is how many consecutive valid RTP packets from a new source
// address it takes to move an already latched session there. One stray
// packet (or two streams interleaving) must not steal the call's audio.
// Only allowed sources (see SetLatch) are ever candidates.
const relinkAfter = 3

// Session is one call leg's RTP endpoint: a UDP socket, the peer it sends
// to and its own outgoing RTP stream. Output (MOH or relay into this leg)
// works as soon as SetRemote is called; input — latching, the inactivity
// timeout and relaying out of this leg — needs Start, which hands the
// socket to a poller (poller_linux.go).
type Session struct {
	// sock, peer and out come first: they are all a packet sent needs, and
	// together they fill the struct's first two cache lines, so music to
	// thousands of listeners misses the cache as little as it can.
	sock *udpSocket
	// peer is read on every packet and written on SetRemote or a latch.
	// Writers build a fresh value under peerMu, readers just Load.
	peer atomic.Pointer[peerState]
	out  outStream

	peerMu sync.Mutex
	// sockClosing is set under peerMu before Close gives up the socket, so
	// a SetRemote racing with Close never connects or disconnects a
	// descriptor number the kernel may already have handed to another call.
	sockClosing bool

	local   netip.AddrPort
	log     *slog.Logger
	release func(fd int) // hands the port, and its socket if still open, back to the allocator

	// link is where received packets are relayed; nil when not bridged.
	link atomic.Pointer[relayLink]

	// Guarded by controlMu.
	moh        *Source
	mohEntry   *listener
	bridgePeer *Session
	player     *player // the Play in progress
	started    bool
	closed     bool

	// Inactivity detection, see idle.go.
	timeout      atomic.Int64 // nanoseconds; <=0 disables
	lastActivity atomic.Int64 // monoNow() of the last valid RTP packet or reset
	timeoutArmed atomic.Bool
	idle         idleWatch

	received      atomic.Uint64
	rejected      atomic.Uint64 // datagrams from sources that may not send here
	late          atomic.Uint64 // packets not relayed: they waited too long (relay_late.go)
	connectFailed atomic.Bool   // connect(2) failed once: stay unconnected

	onDTMF atomic.Pointer[func(digit rune)] // see OnDTMF

	// Reader-only state (one packet at a time, see udpSocket.readOne).
	candidate      netip.AddrPort
	candidateCount int
	rejectLogged   bool      // the first rejected source is logged, no more
	dtmf           dtmfState // the peer's last telephone-event
}

// peerState is an immutable snapshot of where and how to send. What a
// packet sent reads comes first, in the struct's first cache line: music
// prefetches only that line (sendFrames).
type peerState struct {
	target  netip.AddrPort // where packets go: the latched source, else sdp
	latched bool           // target came from a received packet; always an allowed source
	// connected: the socket is connect(2)ed to target (see connect.go).
	// Only ever true while latched; changed under peerMu with the kernel's.
	connected bool
	format    Format
	sdp       netip.AddrPort // address from SetRemote (the peer's SDP)
	allowed   sources
}

func newSession(sock *udpSocket, log *slog.Logger, release func(fd int)) *Session {
	if log == nil {
		log = slog.Default()
	}
	local := unmapAddrPort(sock.localAddr())
	s := &Session{
		sock:    sock,
		local:   local,
		log:     log.With("rtp_local", local),
		release: release,
	}
	s.peer.Store(&peerState{format: Format{Codec: PCMU, AudioPT: uint8(PCMU)}})
	s.out.init()
	trackSession(s)
	return s
}

// SetLatch says whose RTP the session takes in (rtp.latch): with
// LatchSignalling, signalling is the IP the call's SIP came from (for a call
// parkd placed, the IP the answer came from); an invalid one leaves the SDP
// IP alone allowed. A new session allows its SDP IP only. A latch on a
// source that is no longer allowed is dropped.
func (s *Session) SetLatch(mode Latch, signalling netip.Addr) {
	s.peerMu.Lock()
	cur := s.peer.Load()
	next := *cur
	next.allowed.latch = mode
	next.allowed.signalling = usableIP(signalling)
	if next.latched && !next.allowed.allows(next.target.Addr()) {
		next.target, next.latched = sendTarget(next.sdp), false
	}
	s.unconnectLocked(cur, &next)
	s.peer.Store(&next)
	s.peerMu.Unlock()
	if cur.allowed != next.allowed {
		s.log.Debug("rtp sources set", "latch", mode, "signalling", next.allowed.signalling, "sdp", next.allowed.sdp)
	}
}

// sendTarget is where to send given an SDP address: nowhere for a hold
// (c=0.0.0.0) or port 0.
func sendTarget(sdp netip.AddrPort) netip.AddrPort {
	if sdp.Addr().IsUnspecified() || sdp.Port() == 0 {
		return netip.AddrPort{}
	}
	return sdp
}

// LocalAddr is the address the session's socket is bound to (for our SDP).
func (s *Session) LocalAddr() netip.AddrPort { return s.local }

// SetRemote sets where to send (from the peer's SDP) and the negotiated
// format. It may be called at any time, e.g. on a re-INVITE. If the address
// is unchanged an existing latch is kept (the peer is still behind the same
// NAT); a new address drops the latch and the next packet latches again.
// An unspecified address or port 0 (RFC 2543-style hold, c=0.0.0.0) means
// "do not send" until a packet from the peer latches a real address.
func (s *Session) SetRemote(addr netip.AddrPort, f Format) {
	addr = unmapAddrPort(addr)
	if f.Codec == PCMA && f.AudioPT == 0 {
		// PT 0 is statically PCMU (RFC 3551); a zero here means "unset".
		f.AudioPT = uint8(PCMA)
	}
	s.peerMu.Lock()
	cur := s.peer.Load()
	next := &peerState{sdp: addr, target: sendTarget(addr), format: f, allowed: cur.allowed}
	if ip := usableIP(addr.Addr()); ip.IsValid() {
		next.allowed.sdp = ip
	}
	if cur.latched && cur.sdp == addr {
		next.target, next.latched = cur.target, true
	}
	s.unconnectLocked(cur, next)
	s.peer.Store(next)
	s.peerMu.Unlock()
	if cur.sdp != addr || cur.format != f {
		s.log.Debug("rtp remote set", "sdp", addr, "send_to", next.target, "codec", f.Codec, "audio_pt", f.AudioPT, "event_pt", f.EventPT)
	}
}

// Format is the format last passed to SetRemote.
func (s *Session) Format() Format { return s.peer.Load().format }

// Remote is the current send target: the latched source if any packet has
// arrived, else the SDP address.
func (s *Session) Remote() netip.AddrPort { return s.peer.Load().target }

// SetSending switches all output on or off (off while the peer holds us
// with a=recvonly/inactive). Output resumes as a new talkspurt: marker bit
// set and the timestamp advanced by the time spent silent.
func (s *Session) SetSending(on bool) { s.out.setSending(on) }

// PacketsReceived counts valid RTP packets received from allowed sources.
func (s *Session) PacketsReceived() uint64 { return s.received.Load() }

// PacketsRejected counts datagrams dropped because their source may not
// send to this session (see SetLatch).
func (s *Session) PacketsRejected() uint64 { return s.rejected.Load() }

// PacketsSent counts RTP packets successfully written to the socket.
func (s *Session) PacketsSent() uint64 { return s.out.sent.Load() }

// Start begins reading the peer's packets. If no valid RTP arrives for
// timeout (measured from Start, then from the last packet or
// ResetTimeout), onTimeout is called once from its own goroutine; the
// session keeps running until Close. After firing, the clock is disarmed
// until ResetTimeout re-arms it. timeout<=0 or a nil onTimeout disables
// the check. Start on a started or closed session does nothing.
func (s *Session) Start(timeout time.Duration, onTimeout func()) {
	controlMu.Lock()
	if s.started || s.closed {
		controlMu.Unlock()
		return
	}
	s.started = true
	controlMu.Unlock()

	if timeout > 0 && onTimeout != nil {
		s.timeout.Store(int64(timeout))
		s.lastActivity.Store(monoNow())
		s.timeoutArmed.Store(true)
		s.idle.start(s, timeout, onTimeout)
	}
	if err := s.sock.startReading(s); err != nil && !errors.Is(err, errSocketClosed) {
		// Music and relay into this leg still work; nothing is heard from it.
		s.log.Error("rtp input not started", "err", err)
	}
}

// ResetTimeout restarts the inactivity clock and re-arms onTimeout.
func (s *Session) ResetTimeout() {
	if s.timeout.Load() <= 0 {
		return
	}
	s.lastActivity.Store(monoNow())
	s.timeoutArmed.Store(true)
}

// Close stops reading, detaches the session from any MOH source or bridge
// and releases the port. It is idempotent and waits for a packet being
// handled, so no callback of this session's relay runs after it.
func (s *Session) Close() {
	controlMu.Lock()
	if s.closed {
		controlMu.Unlock()
		return
	}
	s.closed = true
	s.detachLocked()
	controlMu.Unlock()

	s.idle.stop()
	s.out.releaseOwner() // drop whatever write is in flight from a feeder
	s.peerMu.Lock()      // wait for a connect or disconnect in flight
	s.sockClosing = true
	s.peerMu.Unlock()
	fd := s.sock.detach()
	untrackSession(s) // after the last packet in or out: the counts are final
	if s.release != nil {
		s.release(fd)
	} else if fd >= 0 {
		closeFD(fd)
	}
	s.log.Debug("rtp session closed", "received", s.received.Load(), "sent", s.out.sent.Load(), "rejected", s.rejected.Load())
}

// detachLocked removes s from its MOH source and bridge and stops its
// Play. controlMu held.
func (s *Session) detachLocked() {
	stopPlayLocked(s)
	if s.moh != nil {
		s.moh.removeLocked(s)
	}
	if s.bridgePeer != nil {
		unbridgeLocked(s)
	}
}

// handlePacket processes one received datagram: check its source, validate,
// count, latch, refresh the inactivity clock, note DTMF and relay if
// bridged. Anything from a source that may not send here is dropped first,
// whatever it holds: it never latches, never refreshes the clock, never
// reaches a bridge. Of the rest, only packets from the peer's (latched)
// address refresh the clock, count as DTMF and get relayed, so a stray
// stream — say, a previous call still sending to a reused port — is
// neither mixed into the call, nor keeps it alive, nor presses keys. It
// reports whether the packet counted as the peer's activity. Zero
// allocations unless the latch moves or a first rejection is logged.
func (s *Session) handlePacket(buf []byte, n int, src netip.AddrPort) bool {
	return s.receive(buf, n, src, nil, false)
}

// receive is handlePacket with the relayed packet queued in out, whose
// slot buf is (see sendBatch); nil sends it at once. A late packet (see
// tooLate) is taken in but not relayed.
func (s *Session) receive(buf []byte, n int, src netip.AddrPort, out *sendBatch, late bool) bool {
	src = unmapAddrPort(src)
	st := s.peer.Load()
	if !st.allowed.allows(src.Addr()) {
		s.reject(st, src)
		return false
	}
	p, ok := parseRTP(buf[:n])
	if !ok {
		return false
	}
	s.received.Add(1)
	if st.latched && st.target == src {
		s.candidateCount = 0 // the current source is alive: a switch must be consecutive
	} else if !s.considerLatch(st, src) {
		return false
	}
	s.lastActivity.Store(monoNow())
	if ev := st.format.EventPT; ev != 0 && p.pt == ev {
		s.noteEvent(buf, p)
	}
	if link := s.link.Load(); link != nil {
		// A late key press is still a key press: only audio is dropped.
		if late && !(st.format.EventPT != 0 && p.pt == st.format.EventPT) {
			s.late.Add(1)
		} else {
			s.forward(buf[:n], p, link, out)
		}
	}
	return true
}

// reject counts a datagram from a source that may not send here, and logs
// the first one of the session: an intruder (or a misconfigured PBX) costs
// one log line per call, not one per packet.
func (s *Session) reject(st *peerState, src netip.AddrPort) {
	s.rejected.Add(1)
	if s.rejectLogged {
		return
	}
	s.rejectLogged = true
	s.log.Warn("rtp from a source that may not send to this call dropped; further ones are only counted",
		"source", src, "latch", st.allowed.latch, "sdp", st.sdp, "signalling", st.allowed.signalling)
}

// considerLatch implements symmetric RTP: the first packet latches
// immediately; moving an existing latch takes relinkAfter consecutive
// packets from the new source. It reports whether src is now the target.
func (s *Session) considerLatch(st *peerState, src netip.AddrPort) bool {
	if st.latched {
		if src != s.candidate {
			s.candidate, s.candidateCount = src, 0
		}
		s.candidateCount++
		if s.candidateCount < relinkAfter {
			return false
		}
	}
	s.candidate, s.candidateCount = netip.AddrPort{}, 0

	s.peerMu.Lock()
	cur := s.peer.Load()
	if cur != st { // SetRemote raced with us; decide again on the next packet
		s.peerMu.Unlock()
		return false
	}
	next := *cur
	next.target, next.latched = src, true
	s.unconnectLocked(cur, &next)
	s.peer.Store(&next)
	s.peerMu.Unlock()
	if cur.latched {
		s.log.Info("rtp peer source moved; re-latched", "source", src, "previous", cur.target, "sdp", cur.sdp)
	} else {
		s.log.Debug("rtp latched to peer source", "source", src, "sdp", cur.sdp)
	}
	return true
}

// clockBase anchors monoNow; time.Since uses the monotonic clock.
var clockBase = time.Now()

func monoNow() int64 { return int64(time.Since(clockBase)) }

// unmapAddrPort turns ::ffff:a.b.c.d into a.b.c.d so that addresses from
// SDP and from the socket compare equal.
func unmapAddrPort(ap netip.AddrPort) netip.AddrPort {
	if ap.Addr().Is4In6() {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return ap
}

// randomUint32 is used for SSRC and initial seq/timestamp (RFC 3550 §5.1).
func randomUint32() uint32 { return rand.Uint32() }
