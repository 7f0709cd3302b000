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
// given up a few of its hundreds, not all of them.
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
