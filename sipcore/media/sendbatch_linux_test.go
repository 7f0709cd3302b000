package media

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/parkd/parkd/internal/uring"
)

// withoutRing makes the batches the test creates send one system call per
// packet, as where io_uring is missing or forbidden.
func withoutRing(t *testing.T) {
	t.Helper()
	noSendRing.Store(true)
	t.Cleanup(func() { noSendRing.Store(false) })
}

// requireRing skips where the kernel gives no ring: the rest of the
// package then runs the fallback everywhere.
func requireRing(t *testing.T) {
	t.Helper()
	r, err := uring.New(sendBatchMax)
	if err != nil {
		if errors.Is(err, uring.ErrUnusable) {
			t.Skipf("no io_uring here: %v", err)
		}
		t.Fatal(err)
	}
	r.Close()
}

// Every listener gets its frame exactly once, in its codec, whichever way
// the batch sends: through the ring or one by one, to sockets connected
// to their latched phone or by address, and across more listeners than
// one submission takes.
func TestSendBatchReachesEveryListener(t *testing.T) {
	const listeners = 2*sendBatchMax + 7
	for _, tc := range []struct {
		name            string
		ring, connected bool
	}{
		{"ring, by address", true, false},
		{"ring, connected", true, true},
		{"one by one, by address", false, false},
		{"one by one, connected", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ring {
				requireRing(t)
			} else {
				withoutRing(t)
			}
			a := newTestAllocator(t)
			b := newSendBatch(testLogger(), mohPacketLen)
			defer b.close()
			if (b.ring != nil) != tc.ring {
				t.Fatalf("batch has a ring: %v, want %v", b.ring != nil, tc.ring)
			}
			src := newTestSource()
			byPhone := map[netip.AddrPort]*Session{}
			var phones []*phone
			for range listeners {
				s, ph := openSession(t, a), newPhone(t)
				s.SetRemote(ph.addr(), Format{Codec: PCMA, AudioPT: uint8(PCMA)})
				if tc.connected {
					connectTo(t, s, ph)
				}
				src.Add(s)
				byPhone[ph.addr()] = s
				phones = append(phones, ph)
			}
			src.batch = b
			src.tick(nil)
			for _, ph := range phones {
				r := ph.mustRecv(time.Second)
				s := byPhone[ph.addr()]
				if r.pkt.SSRC != s.ssrc() || r.pkt.PayloadType != uint8(PCMA) {
					t.Fatalf("phone %s got SSRC %#x PT %d, want %#x PT %d", ph.addr(), r.pkt.SSRC, r.pkt.PayloadType, s.ssrc(), PCMA)
				}
				if frameIndex(src, PCMA, r.pkt.Payload) != 0 {
					t.Fatalf("phone %s did not get frame 0", ph.addr())
				}
				if r.from != s.LocalAddr() {
					t.Fatalf("phone %s heard from %s, not its session's %s", ph.addr(), r.from, s.LocalAddr())
				}
				if _, ok := ph.recv(time.Millisecond); ok {
					t.Fatalf("phone %s got the frame twice", ph.addr())
				}
				if n := s.PacketsSent(); n != 1 {
					t.Fatalf("session counts %d packets sent, want 1", n)
				}
			}
		})
	}
}

// connectTo latches s to ph and connects its socket, as a phone that
// sends RTP gets.
func connectTo(t *testing.T, s *Session, ph *phone) {
	t.Helper()
	pkt := append(make([]byte, 0, maxPacketLen), rtpPacketBytes(t, 1)...)
	s.handlePacket(pkt, len(pkt), ph.addr())
	st := s.peer.Load()
	s.out.mu.Lock()
	s.tuneConnection(st, time.Now())
	s.out.mu.Unlock()
	if !s.peer.Load().connected {
		t.Fatal("the session's socket did not connect to its latched phone")
	}
}

// A packet queued for a session that closes, or whose stream another
// feeder takes, before the batch goes out is not sent: the descriptor may
// already be another call's, and the new feeder's numbering would be
// broken by it.
func TestSendBatchDropsWhatWentStale(t *testing.T) {
	requireRing(t)
	for _, tc := range []struct {
		name   string
		change func(*Session)
	}{
		{"session closed", func(s *Session) { s.Close() }},
		{"stream taken by another feeder", func(s *Session) { s.out.takeOwner() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestAllocator(t)
			b := newSendBatch(testLogger(), mohPacketLen)
			defer b.close()
			stale, kept := openSession(t, a), openSession(t, a)
			stalePhone, keptPhone := newPhone(t), newPhone(t)
			stale.SetRemote(stalePhone.addr(), Format{Codec: PCMU})
			kept.SetRemote(keptPhone.addr(), Format{Codec: PCMU})
			f := frame{ulaw: make([]byte, frameSamples), alaw: make([]byte, frameSamples), at: time.Now()}
			stale.sendMOH(stale.out.takeOwner(), b, f)
			kept.sendMOH(kept.out.takeOwner(), b, f)
			others := queueOthers(t, a, b, f)
			if b.n != 2+len(others) {
				t.Fatalf("%d packets queued, want %d", b.n, 2+len(others))
			}
			tc.change(stale)
			b.flush()
			keptPhone.mustRecv(time.Second)
			for _, ph := range others {
				ph.mustRecv(time.Second)
			}
			if _, ok := stalePhone.recv(50 * time.Millisecond); ok {
				t.Fatal("the stale packet was sent")
			}
			if n := stale.PacketsSent(); n != 0 {
				t.Fatalf("the stale session counts %d packets sent", n)
			}
		})
	}
}

// A send on the connected socket that fails is retried by address, as a
// single write is (writeConn); one by address that fails is uncounted and
// turns the session's sends to one by one until one works again.
func TestSendBatchFailures(t *testing.T) {
	requireRing(t)
	a := newTestAllocator(t)
	b := newSendBatch(testLogger(), mohPacketLen)
	defer b.close()
	f := frame{ulaw: make([]byte, frameSamples), alaw: make([]byte, frameSamples), at: time.Now()}

	// Believed connected, but not: the ring's send has no address.
	s, ph := openSession(t, a), newPhone(t)
	s.SetRemote(ph.addr(), Format{Codec: PCMU})
	st := *s.peer.Load()
	st.connected = true
	s.peer.Store(&st)
	s.sendMOH(s.out.takeOwner(), b, f)
	queueOthers(t, a, b, f)
	b.flush()
	ph.mustRecv(time.Second)
	if n := s.PacketsSent(); n != 1 {
		t.Fatalf("retried packet: %d sent, want 1", n)
	}

	// Port 0 is nobody's: sendmsg fails with EINVAL.
	bad := openSession(t, a)
	bad.SetRemote(ph.addr(), Format{Codec: PCMU})
	st = *bad.peer.Load()
	st.target = netip.AddrPortFrom(loopback, 0)
	bad.peer.Store(&st)
	gen := bad.out.takeOwner()
	bad.sendMOH(gen, b, f)
	queueOthers(t, a, b, f)
	b.flush()
	if n := bad.PacketsSent(); n != 0 {
		t.Fatalf("failed packet: %d sent, want 0", n)
	}
	bad.out.mu.Lock()
	failing := bad.out.failing
	bad.out.mu.Unlock()
	if !failing {
		t.Fatal("the failure was not noted")
	}
	bad.sendMOH(gen, b, f)
	if b.n != 0 {
		t.Fatal("a failing session's packet was batched, not sent at once")
	}

	// A packet whose stream changed feeder before its send failed (an
	// unbridge disconnected the socket) is stale: dropped, not a failure.
	quiet := openSession(t, a)
	quiet.SetRemote(ph.addr(), Format{Codec: PCMU})
	old := quiet.out.takeOwner()
	quiet.sendMOH(old, b, f)
	quiet.out.takeOwner()
	quiet.sendFailed(old, make([]byte, mohPacketLen), true, unix.EDESTADDRREQ)
	b.n = 0 // the test failed it by hand
	quiet.out.mu.Lock()
	failing = quiet.out.failing
	quiet.out.mu.Unlock()
	if failing || quiet.PacketsSent() != 0 {
		t.Fatalf("stale packet: failing %v, %d sent; want false, 0", failing, quiet.PacketsSent())
	}
}

// queueOthers queues packets for two more sessions, so that the batch
// goes through the ring (a single packet is written directly), and
// returns their phones.
func queueOthers(t *testing.T, a *Allocator, b *sendBatch, f frame) []*phone {
	t.Helper()
	var phones []*phone
	for range 2 {
		s, ph := openSession(t, a), newPhone(t)
		s.SetRemote(ph.addr(), Format{Codec: PCMU})
		s.sendMOH(s.out.takeOwner(), b, f)
		phones = append(phones, ph)
	}
	return phones
}

// rtpPacketBytes is a PCMU packet with sequence number seq.
func rtpPacketBytes(t *testing.T, seq uint16) []byte {
	t.Helper()
	b := make([]byte, rtpHeaderLen+frameSamples)
	putRTPHeader(b, false, 0, seq, uint32(seq)*frameSamples, 0xfeed)
	return b
}

// takeOwner, setSending(false) and so Close wait for a flush in progress:
// a packet that passed the flush's checks goes out before they return,
// never after, when the descriptor may be another call's.
func TestOwnerChangeWaitsForFlushInProgress(t *testing.T) {
	a := newTestAllocator(t)
	for _, tc := range []struct {
		name   string
		change func(*Session)
	}{
		{"takeOwner", func(s *Session) { s.out.takeOwner() }},
		{"setSending(false)", func(s *Session) { s.out.setSending(false) }},
		{"Close", func(s *Session) { s.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openSession(t, a)
			s.SetRemote(newPhone(t).addr(), Format{Codec: PCMU})
			batchesInFlight.RLock() // a flush between its checks and its send
			done := make(chan struct{})
			go func() {
				tc.change(s)
				close(done)
			}()
			select {
			case <-done:
				batchesInFlight.RUnlock()
				t.Fatal("returned while a flush was in progress")
			case <-time.After(50 * time.Millisecond):
			}
			batchesInFlight.RUnlock()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("still waiting once the flush was done")
			}
		})
	}
}
