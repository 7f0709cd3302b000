package media

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
)

func TestNewAllocatorValidation(t *testing.T) {
	cases := []struct {
		name      string
		ip        netip.Addr
		low, high int
		ok        bool
	}{
		{"normal", loopback, 10000, 20000, true},
		{"single even port", loopback, 10000, 10000, true},
		{"odd low rounds up", loopback, 10001, 10002, true},
		{"top of range", loopback, 65534, 65535, true},
		{"ipv6", netip.MustParseAddr("::1"), 10000, 10010, true},
		{"low above high", loopback, 20000, 10000, false},
		{"privileged", loopback, 80, 2000, false},
		{"zero", loopback, 0, 0, false},
		{"above 65535", loopback, 65000, 70000, false},
		{"no even port", loopback, 10001, 10001, false},
		{"no address", netip.Addr{}, 10000, 10010, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewAllocator(tc.ip, tc.low, tc.high)
			if (err == nil) != tc.ok {
				t.Fatalf("NewAllocator(%v, %d, %d) error = %v, want ok=%v", tc.ip, tc.low, tc.high, err, tc.ok)
			}
			if err == nil && a.InUse() != 0 {
				t.Fatalf("new allocator has %d ports in use", a.InUse())
			}
		})
	}
}

func TestAllocatorEvenPortsExhaustionAndReuse(t *testing.T) {
	t.Parallel()
	// Three even ports at a random spot, starting on an odd number. A port
	// another process happens to hold is skipped, so expect 1..3 sessions.
	low := testPortLow + 1 + 2*rand.IntN((testPortHigh-testPortLow)/2-4)
	a, err := NewAllocator(loopback, low, low+5)
	if err != nil {
		t.Fatal(err)
	}
	var sessions []*Session
	for {
		s, err := a.Open(testLogger())
		if errors.Is(err, ErrNoPorts) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, s)
		if len(sessions) > 3 {
			t.Fatalf("allocated %d sessions from 3 ports", len(sessions))
		}
	}
	if len(sessions) == 0 {
		t.Skip("every port of the test range is taken by something else")
	}
	seen := map[uint16]bool{}
	for _, s := range sessions {
		p := s.LocalAddr().Port()
		if p%2 != 0 || int(p) < low || int(p) > low+5 || seen[p] {
			t.Errorf("bad or duplicate port %d (range %d-%d)", p, low, low+5)
		}
		seen[p] = true
		if s.LocalAddr().Addr() != loopback {
			t.Errorf("bound to %v, want %v", s.LocalAddr().Addr(), loopback)
		}
	}
	if a.InUse() != len(sessions) {
		t.Fatalf("InUse() = %d, want %d", a.InUse(), len(sessions))
	}

	// A released port comes back.
	freed := sessions[0].LocalAddr().Port()
	sessions[0].Close()
	sessions[0].Close() // idempotent: must not release twice
	if a.InUse() != len(sessions)-1 {
		t.Fatalf("after Close InUse() = %d, want %d", a.InUse(), len(sessions)-1)
	}
	s, err := a.Open(testLogger())
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	if s.LocalAddr().Port() != freed {
		t.Errorf("got port %d, want the freed %d", s.LocalAddr().Port(), freed)
	}
	sessions[0] = s
	for _, s := range sessions {
		s.Close()
	}
	if a.InUse() != 0 {
		t.Fatalf("after closing all InUse() = %d", a.InUse())
	}
}

// randomTestRange is a range of n even ports at a random spot of the test
// range, so parallel tests (and other packages' tests) rarely collide.
func randomTestRange(n int) (low, high int) {
	low = testPortLow + 2*rand.IntN((testPortHigh-testPortLow-2*n)/2)
	return low, low + 2*(n-1)
}

// Ports are handed out at random: the next call's port cannot be guessed
// from the last one's.
func TestAllocatorPicksAtRandom(t *testing.T) {
	t.Parallel()
	low, high := randomTestRange(500)
	a, err := NewAllocator(loopback, low, high)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	ports := make([]int, 0, n)
	seen := map[int]bool{}
	for range n {
		s := openSession(t, a)
		p := int(s.LocalAddr().Port())
		if seen[p] {
			t.Fatalf("port %d handed out twice while held", p)
		}
		if p < low || p > high || p%2 != 0 {
			t.Fatalf("port %d outside %d-%d or odd", p, low, high)
		}
		seen[p] = true
		ports = append(ports, p)
	}
	steps, ascending := 0, 0
	for i := 1; i < n; i++ {
		if d := ports[i] - ports[i-1]; d == 2 || d == -2 {
			steps++
		}
		if ports[i] > ports[i-1] {
			ascending++
		}
	}
	// In order, all 19 would be steps of 2; at random from 500 ports, the
	// chance of even 4 is about 1e-7.
	if steps > 3 || ascending == n-1 {
		t.Fatalf("ports look sequential: %v", ports)
	}
}

func TestAllocatorExhaustionAndRelease(t *testing.T) {
	t.Parallel()
	const n = 8
	low, high := randomTestRange(n)
	a, err := NewAllocator(loopback, low, high)
	if err != nil {
		t.Fatal(err)
	}
	held := map[uint16]*Session{}
	for {
		s, err := a.Open(testLogger())
		if errors.Is(err, ErrNoPorts) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		p := s.LocalAddr().Port()
		if held[p] != nil {
			t.Fatalf("port %d handed out twice while held", p)
		}
		held[p] = s
		if len(held) > n {
			t.Fatalf("%d sessions from %d ports", len(held), n)
		}
	}
	if len(held) < n-1 {
		t.Skipf("only %d of %d test ports were bindable", len(held), n)
	}
	// Releasing makes exactly those ports available again, and only them.
	var freed []uint16
	for p, s := range held {
		if len(freed) == 2 {
			break
		}
		s.Close()
		delete(held, p)
		freed = append(freed, p)
	}
	for range 2 {
		s, err := a.Open(testLogger())
		if err != nil {
			t.Fatalf("Open after release: %v", err)
		}
		t.Cleanup(s.Close)
		p := s.LocalAddr().Port()
		if p != freed[0] && p != freed[1] || held[p] != nil {
			t.Fatalf("got port %d, want one of the released %v", p, freed)
		}
		held[p] = s
	}
	if _, err := a.Open(testLogger()); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("Open on a full range again: %v, want ErrNoPorts", err)
	}
	if a.InUse() != len(held) {
		t.Fatalf("InUse() = %d, want %d", a.InUse(), len(held))
	}
}

// A port that another process holds is skipped, and the range still
// serves every other port.
func TestAllocatorSkipsPortsThatFailToBind(t *testing.T) {
	t.Parallel()
	const n = 4
	low, high := randomTestRange(n)
	taken, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(low+2))))
	if err == nil {
		defer taken.Close()
	}
	a, err := NewAllocator(loopback, low, high)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for {
		s, err := a.Open(testLogger())
		if errors.Is(err, ErrNoPorts) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		if s.LocalAddr().Port() == uint16(low+2) {
			t.Fatalf("handed out port %d, which another socket holds", low+2)
		}
		if got++; got > n-1 {
			t.Fatalf("%d sessions from %d free ports", got, n-1)
		}
	}
	if got == 0 {
		t.Skip("no port of the test range was bindable")
	}
}

// A just-released port is not picked again while others are free, so late
// packets of the ended call do not land in the next one.
func TestAllocatorCoolsReleasedPorts(t *testing.T) {
	t.Parallel()
	const n = 8
	low, high := randomTestRange(n)
	a, err := NewAllocator(loopback, low, high)
	if err != nil {
		t.Fatal(err)
	}
	first := openSession(t, a)
	released := first.LocalAddr().Port()
	first.Close()
	for range n / 2 {
		if s := openSession(t, a); s.LocalAddr().Port() == released {
			t.Fatalf("port %d reused at once while %d others were free", released, n-1)
		}
	}
}
