package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"golang.org/x/sys/unix"
)

// onePortAllocator hands out a single port on loopback, so a released
// socket's next call is known. Ports held by other tests are skipped.
func onePortAllocator(t *testing.T) (*Allocator, *Session) {
	t.Helper()
	return onePortAllocatorOn(t, loopback)
}

func onePortAllocatorOn(t *testing.T, ip netip.Addr) (*Allocator, *Session) {
	t.Helper()
	for range 50 {
		low, high := randomTestRange(1)
		a, err := NewAllocator(ip, low, high)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Close)
		s, err := a.Open(testLogger())
		if errors.Is(err, ErrNoPorts) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return a, s
	}
	t.Fatal("no free test port in 50 tries")
	return nil, nil
}

// reopen is the port's next call, which must get the same port.
func reopen(t *testing.T, a *Allocator, port netip.AddrPort) *Session {
	t.Helper()
	s, err := a.Open(testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if s.LocalAddr() != port {
		t.Fatalf("next call on %v, want %v", s.LocalAddr(), port)
	}
	return s
}

// portBound reports whether another socket is refused the port.
func portBound(t *testing.T, port netip.AddrPort) bool {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(port))
	if err == nil {
		c.Close()
		return false
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatal(err)
	}
	return true
}

func rtpTo(p *phone, to netip.AddrPort, seq uint16) {
	p.send(to, rtp.Header{PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * frameSamples, SSRC: 0xbeef}, audioPayload(1, PCMU))
}

// The port's next call takes over the socket its last call left bound,
// and the allocator's Close lets the port go.
//
// Not parallel: another test's allocator could bind the port in the
// moment after Close lets it go.
func TestPortsNextCallTakesOverItsSocket(t *testing.T) {
	a, first := onePortAllocator(t)
	port, fd := first.LocalAddr(), first.sock.desc()
	first.Close()
	if !portBound(t, port) {
		t.Fatal("the port was let go with its call")
	}
	next := reopen(t, a, port)
	if got := next.sock.desc(); got != fd {
		t.Fatalf("next call's socket is descriptor %d, want the kept %d", got, fd)
	}
	next.Close()
	a.Close()
	if portBound(t, port) {
		t.Fatal("the allocator's Close kept the port bound")
	}
}

// What was sent to the last call, before and after it ended, never reaches
// the next call on its port; what is sent to the next call does. The
// kept socket is connected to its own address while it waits, which
// must also hold for an IPv6 bind.
func TestKeptSocketHearsNothingMeantForTheLastCall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ bind, phones string }{
		{"127.0.0.1", "127.0.0.1"},
		{"::1", "::1"},
	} {
		t.Run(tc.bind, func(t *testing.T) {
			t.Parallel()
			phoneIP := netip.MustParseAddr(tc.phones)
			old, err := newPhoneOn(t, phoneIP)
			if err != nil {
				t.Skipf("no %s here: %v", tc.phones, err)
			}
			peer, _ := newPhoneOn(t, phoneIP)
			a, first := onePortAllocatorOn(t, netip.MustParseAddr(tc.bind))
			port := netip.AddrPortFrom(phoneIP, first.LocalAddr().Port())
			first.SetRemote(old.addr(), Format{Codec: PCMU})
			// Queued, never read: the call ends before it starts reading.
			for seq := range uint16(5) {
				rtpTo(old, port, seq)
			}
			first.Close()
			for seq := range uint16(20) {
				rtpTo(old, port, 100+seq) // to the idle port
			}

			next := reopen(t, a, first.LocalAddr())
			if sa, err := unix.Getsockname(next.sock.desc()); err != nil || sockaddrToAddrPort(sa) != first.LocalAddr() {
				t.Fatalf("the reused socket is bound to %v (%v), want %v", sockaddrToAddrPort(sa), err, first.LocalAddr())
			}
			next.SetRemote(peer.addr(), Format{Codec: PCMU})
			next.Start(0, nil)
			rtpTo(peer, port, 1)
			waitFor(t, "the next call's peer heard", func() bool { return next.received.Load()+next.rejected.Load() > 0 })
			time.Sleep(20 * time.Millisecond) // anything queued behind it shows too
			if got, rej := next.received.Load(), next.rejected.Load(); got != 1 || rej != 0 {
				t.Fatalf("next call took in %d packets and refused %d, want only its peer's one", got, rej)
			}
			if got := next.Remote(); got != peer.addr() {
				t.Fatalf("next call latched to %v, want its peer %v", got, peer.addr())
			}
		})
	}
}

// An idle port's socket holds nothing: neither what its call left unread
// nor what is sent to it while it waits costs receive memory.
func TestIdlePortQueuesNothing(t *testing.T) {
	t.Parallel()
	a, first := onePortAllocator(t)
	old := newPhone(t)
	port := first.LocalAddr()
	for seq := range uint16(5) {
		rtpTo(old, port, seq) // queued, never read: the call never started reading
	}
	first.Close()
	for seq := range uint16(20) {
		rtpTo(old, port, 100+seq)
	}
	time.Sleep(10 * time.Millisecond) // for a delivery the kernel deferred
	a.mu.Lock()
	fd := int(a.kept[0])
	a.mu.Unlock()
	if fd < 0 {
		t.Fatal("no socket kept for the port")
	}
	queued, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	if queued != 0 {
		t.Fatalf("the idle port's socket queued %d bytes", queued)
	}
}

// A socket on a wildcard address is not kept: connected to itself it
// would be bound to loopback alone while it waits, and another process
// could take the port on a specific address.
func TestWildcardPortIsNotKept(t *testing.T) {
	for _, tc := range []struct{ bind, probe string }{
		{"0.0.0.0", "127.0.0.1"},
		{"::", "::1"},
	} {
		t.Run(tc.bind, func(t *testing.T) {
			probe := netip.MustParseAddr(tc.probe)
			if p, err := newPhoneOn(t, probe); err != nil {
				t.Skipf("no %s here: %v", tc.probe, err)
			} else {
				p.conn.Close()
			}
			a, first := onePortAllocatorOn(t, netip.MustParseAddr(tc.bind))
			port := first.LocalAddr()
			first.Close()
			if portBound(t, netip.AddrPortFrom(probe, port.Port())) {
				t.Fatal("the wildcard port's socket was kept")
			}
			reopen(t, a, port)
		})
	}
}

// An ended call's late send fails instead of leaving through the socket
// its port's next call now owns.
func TestEndedCallCannotSendThroughTheReusedSocket(t *testing.T) {
	t.Parallel()
	a, first := onePortAllocator(t)
	peer := newPhone(t)
	stale := first.sock
	first.Close()
	reopen(t, a, first.LocalAddr())
	if err := stale.writeTo([]byte{0x80, 0, 0, 1}, peer.addr()); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("late send of the ended call: %v, want EBADF", err)
	}
	if _, ok := peer.recv(20 * time.Millisecond); ok {
		t.Fatal("the ended call's packet left through the reused socket")
	}
}

// A socket that was connected to its call's peer is disconnected before
// it is kept: the next call hears a peer at any address.
func TestKeptSocketForgetsItsConnectedPeer(t *testing.T) {
	t.Parallel()
	a, first := onePortAllocator(t)
	old, peer := newPhone(t), newPhone(t)
	r := &connectRig{t: t, s: first, src: newTestSource()}
	first.SetRemote(old.addr(), Format{Codec: PCMU})
	first.Start(0, nil)
	r.src.Add(first)
	r.until("connected to the latched peer", func() { r.talk(old) }, r.connected)
	first.Close()

	next := reopen(t, a, first.LocalAddr())
	next.SetRemote(peer.addr(), Format{Codec: PCMU})
	next.Start(0, nil)
	rtpTo(peer, next.LocalAddr(), 1)
	waitFor(t, "the next call heard its peer through a disconnected socket", func() bool { return next.received.Load() == 1 })
}

// The process keeps no more idle sockets than keptMax allows; past it a
// released port's socket is closed, as before there was keeping.
func TestKeptSocketsStayWithinTheProcessLimit(t *testing.T) {
	a, first := onePortAllocator(t)
	saved := keptMax.Load()
	t.Cleanup(func() { keptMax.Store(saved) })
	keptMax.Store(keptSockets.Load())
	port := first.LocalAddr()
	first.Close()
	if portBound(t, port) {
		t.Fatal("a socket past the limit was kept")
	}
	reopen(t, a, port)
}

// drain empties a socket of every datagram and pending error, in
// batches, however many its call left queued.
func TestDrainEmptiesTheSocket(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		queued    int
		icmpError bool // an ICMP error waits ahead of the datagrams
	}{
		{"nothing", 0, false},
		{"a few", 5, false},
		{"one batch", staleBatch, false},
		{"several batches", 3*staleBatch + 5, false},
		{"an error first", 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, raw := rawLoopbackSocket(t)
			sender := newPhone(t)
			for i := range tc.queued {
				sender.sendRaw(conn.LocalAddr().(*net.UDPAddr).AddrPort(), []byte{byte(i), 1, 2, 3})
			}
			if tc.icmpError {
				// Connected to a closed port, a send to it comes back as
				// ECONNREFUSED on the next read; what was queued stays.
				closed := newPhone(t)
				gone := closed.addr()
				closed.conn.Close()
				var err error
				raw.Control(func(fd uintptr) { err = unix.Connect(int(fd), sockaddrOf(gone)) })
				if err != nil {
					t.Fatal(err)
				}
				if _, err := conn.Write([]byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			// (Not from conn: a send would take its pending error.)
			delivered(t, func(to netip.AddrPort) { sender.sendRaw(to, []byte{0}) })
			var ok bool
			raw.Control(func(fd uintptr) { ok = drain(int(fd)) })
			if !ok {
				t.Fatal("drain gave up")
			}
			var err error
			var b [16]byte
			raw.Control(func(fd uintptr) { _, _, err = unix.Recvfrom(int(fd), b[:], unix.MSG_DONTWAIT) })
			if !errors.Is(err, unix.EAGAIN) {
				t.Fatalf("a read after drain got %v, want EAGAIN (nothing left)", err)
			}
		})
	}
}

// delivered waits until what a sender sent so far has been delivered,
// an ICMP error it drew included: loopback delivers a CPU's datagrams in
// order, so one sent after them, to a socket of the test's own, arrives
// after they did. Better than a sleep on a loaded machine, where the
// kernel may defer delivery to ksoftirqd.
func delivered(t *testing.T, send func(to netip.AddrPort)) {
	t.Helper()
	sentinel, _ := rawLoopbackSocket(t)
	send(sentinel.LocalAddr().(*net.UDPAddr).AddrPort())
	sentinel.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [8]byte
	if _, _, err := sentinel.ReadFromUDPAddrPort(b[:]); err != nil {
		t.Fatalf("a datagram sent on loopback did not arrive: %v", err)
	}
}

// rawLoopbackSocket is a UDP socket on loopback, and its descriptor.
func rawLoopbackSocket(tb testing.TB) (*net.UDPConn, syscall.RawConn) {
	tb.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	raw, err := conn.SyscallConn()
	if err != nil {
		tb.Fatal(err)
	}
	return conn, raw
}

// BenchmarkSessionOpenClose is a call's RTP port from Open to Close, with
// its socket kept for the next call and without (a new socket each time).
func BenchmarkSessionOpenClose(b *testing.B) {
	for _, keep := range []bool{true, false} {
		name := "kept"
		if !keep {
			name = "new"
		}
		b.Run(name, func(b *testing.B) {
			a := newTestAllocator(b)
			saved := keptMax.Load()
			b.Cleanup(func() { keptMax.Store(saved) })
			if !keep {
				keptMax.Store(0)
			}
			for b.Loop() {
				s, err := a.Open(nil)
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}

// BenchmarkDrain is readying a released socket that still holds what its
// call's phone sent last: when each datagram took a recvfrom(2), a call
// that ended while parkd was behind (five left on average at 1,000
// pairs/s) cost that many system calls.
func BenchmarkDrain(b *testing.B) {
	for _, queued := range []int{0, 5, 20} {
		b.Run(fmt.Sprintf("queued=%d", queued), func(b *testing.B) {
			conn, raw := rawLoopbackSocket(b)
			to := conn.LocalAddr().(*net.UDPAddr).AddrPort()
			sender := newPhone(b)
			pkt := make([]byte, 172)
			for range b.N {
				b.StopTimer()
				for range queued {
					sender.sendRaw(to, pkt)
				}
				b.StartTimer()
				raw.Control(func(fd uintptr) { drain(int(fd)) })
			}
		})
	}
}
