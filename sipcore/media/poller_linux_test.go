package media

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
	"golang.org/x/sys/unix"
)

// A port with a long queue (a flood) gets one datagram read per round
// like any other, so a call behind it on the same poller is heard at
// once: when the quiet call's packet is handled, the flooded socket has
// given up a few of its hundreds, not all of them. (Bridged sessions are
// the pollers'; setRelaying puts these on one without a bridge.)
func TestFloodedPortDoesNotStarveAnotherCall(t *testing.T) {
	a := newTestAllocator(t)
	phone := newPhone(t)
	format := Format{Codec: PCMU, AudioPT: 0, EventPT: 101}
	pollerOf := func(s *Session) *poller {
		s.sock.readMu.Lock()
		defer s.sock.readMu.Unlock()
		return s.sock.poller
	}
	// blocker, flooded and quiet share one poller.
	var sessions []*Session
	for len(sessions) < 3 {
		s := openSession(t, a)
		s.SetRemote(phone.addr(), format)
		s.Start(0, nil)
		if err := s.sock.setRelaying(true); err != nil {
			t.Fatal(err)
		}
		if len(sessions) == 0 || pollerOf(s) == pollerOf(sessions[0]) {
			sessions = append(sessions, s)
		}
	}
	blocker, flooded, quiet := sessions[0], sessions[1], sessions[2]

	// The blocker's keypress holds the poller while the queues fill.
	held, release := make(chan struct{}), make(chan struct{})
	blocker.OnDTMF(func(rune) { close(held); <-release })
	key := func(to *Session) {
		phone.send(to.LocalAddr(), rtp.Header{PayloadType: 101, Marker: true, SequenceNumber: 1, Timestamp: 160, SSRC: 9}, []byte{1, 10, 0, 160})
	}
	key(blocker)
	select {
	case <-held:
	case <-time.After(5 * time.Second):
		t.Fatal("the blocker's key was not heard")
	}
	const queued = 200
	for seq := range queued {
		phone.send(flooded.LocalAddr(), rtp.Header{SequenceNumber: uint16(seq), Timestamp: uint32(seq) * frameSamples, SSRC: 8}, make([]byte, 160))
	}
	floodedWhenHeard := make(chan uint64, 1)
	quiet.OnDTMF(func(rune) { floodedWhenHeard <- flooded.PacketsReceived() })
	key(quiet)
	time.Sleep(20 * time.Millisecond) // let the last datagrams land in their queues
	close(release)

	select {
	case n := <-floodedWhenHeard:
		if n > 5 {
			t.Fatalf("the quiet call was heard only after %d of the flooded port's %d queued datagrams", n, queued)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the quiet call's key was not heard")
	}
}

// Once closed, a socket's number is given up for good: a Start that lost
// the race with Close does not register it, and a late send or
// disconnect (a re-INVITE for a call that just ended) fails instead of
// reaching whatever socket the kernel has since given the same number.
func TestClosedSocketIsNeitherWatchedNorWritten(t *testing.T) {
	a := newTestAllocator(t)
	s, err := a.Open(testLogger())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.sock.startReading(s); !errors.Is(err, errSocketClosed) {
		t.Fatalf("startReading after close: %v, want errSocketClosed", err)
	}
	other := openSession(t, a) // may well get the closed socket's number
	for name, err := range map[string]error{
		"write":      s.sock.write(make([]byte, 12)),
		"writeTo":    s.sock.writeTo(make([]byte, 12), newPhone(t).addr()),
		"disconnect": s.sock.disconnect(),
	} {
		if !errors.Is(err, unix.EBADF) {
			t.Errorf("%s on a closed socket: %v, want EBADF", name, err)
		}
	}
	if other.sock.desc() < 0 {
		t.Fatal("the new session's socket is not open")
	}
}

// A SetRemote that is connecting or disconnecting the socket when the call
// ends must finish before Close gives the descriptor up: the number may be
// handed to another call's socket the moment it is closed, and a connect
// landing there would point that call's audio at a stranger.
func TestCloseWaitsForAConnectInFlight(t *testing.T) {
	a := newTestAllocator(t)
	s, err := a.Open(testLogger())
	if err != nil {
		t.Fatal(err)
	}
	s.peerMu.Lock() // a SetRemote between loading the descriptor and connect(2)
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
		s.peerMu.Unlock()
		t.Fatal("Close gave the socket up while a connect was in flight")
	case <-time.After(100 * time.Millisecond):
	}
	if s.sock.desc() < 0 {
		t.Fatal("the descriptor was given up while a connect was in flight")
	}
	s.peerMu.Unlock()
	<-closed
	s.SetRemote(newPhone(t).addr(), Format{Codec: PCMU}) // after Close: touches no socket
	if s.sock.desc() >= 0 {
		t.Fatal("the socket is still open after Close")
	}
}

// Music to a caller whose address is not latched goes out by sendto on an
// unconnected socket. Those datagrams carry Don't Fragment and an IP ID of
// 0, so the kernel never hashes them into the IP ID counters all CPUs
// share. Seen on the wire through a raw socket (needs CAP_NET_RAW).
func TestUnconnectedMusicIsSentWithDontFragment(t *testing.T) {
	raw, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		t.Skipf("no raw socket here: %v", err)
	}
	defer unix.Close(raw)
	tv := unix.Timeval{Sec: 1}
	if err := unix.SetsockoptTimeval(raw, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	a := newTestAllocator(t)
	s := openSession(t, a)
	p := newPhone(t)
	s.SetRemote(p.addr(), Format{Codec: PCMU})
	src := NewBuiltinSource()
	src.Add(s)

	buf := make([]byte, 2048)
	// Other tests' datagrams share the loopback: look past them.
	for read, deadline := 0, time.Now().Add(10*time.Second); time.Now().Before(deadline); read++ {
		if read%200 == 0 {
			src.tick(nil)
		}
		n, _, err := unix.Recvfrom(raw, buf, 0)
		if err != nil {
			t.Fatalf("nothing seen on the wire: %v", err)
		}
		ip := buf[:n]
		ihl := int(ip[0]&0x0f) * 4
		if n < ihl+8 {
			continue
		}
		udp := ip[ihl:]
		from, to := uint16(udp[0])<<8|uint16(udp[1]), uint16(udp[2])<<8|uint16(udp[3])
		if from != s.LocalAddr().Port() || to != p.addr().Port() {
			continue // someone else's datagram on the loopback
		}
		if df := ip[6]&0x40 != 0; !df {
			t.Errorf("music sent without Don't Fragment (flags %#x)", ip[6])
		}
		if id := uint16(ip[4])<<8 | uint16(ip[5]); id != 0 {
			t.Errorf("music sent with IP ID %d, want 0 (a shared counter was hashed)", id)
		}
		return
	}
	t.Fatal("no music datagram seen on the wire")
}

// Moving a socket to a poller when its call is bridged, and back to the
// quiet sweep, allocates nothing once the sets have grown: it happens
// twice for every retrieved call.
func TestBridgingASocketAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates, and sync.Pool drops what it is given")
	}
	s := openSession(t, newTestAllocator(t))
	s.Start(0, nil) // read by the quiet sweep
	toggle := func() {
		for _, on := range []bool{true, false} {
			if err := s.sock.setRelaying(on); err != nil {
				t.Fatal(err)
			}
		}
	}
	toggle() // the sets grow once
	if n := testing.AllocsPerRun(100, toggle); n != 0 {
		t.Errorf("%v allocations to move a socket to a poller and back", n)
	}
}
