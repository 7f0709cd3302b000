package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// where tells who reads s: "sweep", "poller", both or neither.
func where(s *Session) (swept, polled bool) {
	s.sock.readMu.Lock()
	defer s.sock.readMu.Unlock()
	quiet.mu.Lock()
	defer quiet.mu.Unlock()
	return s.sock.quietAt >= 0, s.sock.poller != nil
}

// A session is swept until it is bridged, read by a poller while it is,
// swept again once unbridged, and by nobody once closed.
func TestBridgeMovesInputBetweenSweepAndPoller(t *testing.T) {
	al := newTestAllocator(t)
	a, b := openSession(t, al), openSession(t, al)
	check := func(when string, wantSwept, wantPolled bool) {
		t.Helper()
		for _, s := range []*Session{a, b} {
			if swept, polled := where(s); swept != wantSwept || polled != wantPolled {
				t.Errorf("%s: swept %v, polled %v; want %v, %v", when, swept, polled, wantSwept, wantPolled)
			}
		}
	}
	check("before Start", false, false)
	a.Start(0, nil)
	b.Start(0, nil)
	check("started", true, false)
	if err := Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	check("bridged", false, true)
	Unbridge(a)
	check("unbridged", true, false)
	a.Close()
	b.Close()
	check("closed", false, false)
}

// A bridge made before Start is read by a poller from the start.
func TestBridgedBeforeStartIsPolled(t *testing.T) {
	al := newTestAllocator(t)
	a, b := openSession(t, al), openSession(t, al)
	if err := Bridge(a, b); err != nil {
		t.Fatal(err)
	}
	a.Start(0, nil)
	if swept, polled := where(a); swept || !polled {
		t.Errorf("swept %v, polled %v; want a poller", swept, polled)
	}
}

// A parked caller's key is heard within a sweep, and a flooded port
// beside it gives up at most quietRounds datagrams per sweep, so the
// other call is heard long before the flood is read.
func TestSweptCallIsHeardBesideAFlood(t *testing.T) {
	al := newTestAllocator(t)
	phone := newPhone(t)
	format := Format{Codec: PCMU, AudioPT: 0, EventPT: 101}
	flooded, parked := openSession(t, al), openSession(t, al)
	for _, s := range []*Session{flooded, parked} {
		s.SetRemote(phone.addr(), format)
		s.Start(0, nil)
	}
	const queued = 200
	for seq := range queued {
		phone.send(flooded.LocalAddr(), rtp.Header{SequenceNumber: uint16(seq), Timestamp: uint32(seq) * frameSamples, SSRC: 8}, make([]byte, 160))
	}
	heard := make(chan uint64, 1)
	sent := time.Now()
	parked.OnDTMF(func(rune) { heard <- flooded.PacketsReceived() })
	phone.send(parked.LocalAddr(), rtp.Header{PayloadType: 101, Marker: true, SequenceNumber: 1, Timestamp: 160, SSRC: 9}, []byte{1, 10, 0, 160})
	select {
	case n := <-heard:
		if n > 3*quietRounds {
			t.Errorf("the parked call was heard after %d of the flooded port's %d datagrams, want at most %d", n, queued, 3*quietRounds)
		}
		t.Logf("heard after %v", time.Since(sent))
	case <-time.After(quietSweep + 5*time.Second):
		t.Fatal("the parked call's key was not heard")
	}
}

// What a parked caller said before the bridge, still queued because the
// sweep had not come to it, is not played to the party that retrieves
// the call; what it says after is.
func TestWhatCameBeforeTheBridgeIsNotRelayed(t *testing.T) {
	al := newTestAllocator(t)
	caller, retriever := newPhone(t), newPhone(t)
	format := Format{Codec: PCMU, AudioPT: 0}
	parked, other := openSession(t, al), openSession(t, al)
	parked.SetRemote(caller.addr(), format)
	other.SetRemote(retriever.addr(), format)
	parked.Start(0, nil)
	other.Start(0, nil)
	for seq := range 3 {
		caller.send(parked.LocalAddr(), rtp.Header{SequenceNumber: uint16(seq), Timestamp: uint32(seq) * frameSamples, SSRC: 7}, make([]byte, 160))
	}
	time.Sleep(time.Millisecond) // in the socket's queue, a sweep (100 ms) away from being read
	if err := Bridge(parked, other); err != nil {
		t.Fatal(err)
	}
	if r, ok := retriever.recv(200 * time.Millisecond); ok {
		t.Fatalf("the retriever heard a packet from before the bridge (payload type %d)", r.pkt.PayloadType)
	}
	if n := parked.PacketsReceived(); n != 3 {
		t.Errorf("%d of the 3 packets before the bridge were handled, want all (the latch and keys see them)", n)
	}
	caller.send(parked.LocalAddr(), rtp.Header{SequenceNumber: 3, Timestamp: 3 * frameSamples, SSRC: 7}, make([]byte, 160))
	retriever.mustRecv(2 * time.Second)
}
