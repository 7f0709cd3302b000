package media

import (
	"errors"
	"math/rand/v2"
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
