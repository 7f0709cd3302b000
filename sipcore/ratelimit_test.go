package sipcore

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestRateLimiterVerdicts(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")
	steps := []struct {
		src  netip.Addr
		at   time.Duration
		want verdict
	}{
		// A burst of 3 served, 3 refused with 503, then silence.
		{a, 0, admit}, {a, 0, admit}, {a, 0, admit},
		{a, 0, shed}, {a, 0, shed}, {a, 0, shed},
		{a, 0, drop}, {a, 0, drop},
		// Another source has its own bucket.
		{b, 0, admit},
		// 100 ms at 10/s refill one token of each bucket.
		{a, 100 * time.Millisecond, admit},
		{a, 100 * time.Millisecond, shed},
		{a, 100 * time.Millisecond, drop},
		// After a quiet second the source has its burst back.
		{a, 1100 * time.Millisecond, admit}, {a, 1100 * time.Millisecond, admit}, {a, 1100 * time.Millisecond, admit},
		{a, 1100 * time.Millisecond, shed},
	}
	l := newRateLimiter(RateLimit{PerSecond: 10, Burst: 3})
	for i, s := range steps {
		if got := l.take(s.src, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d (%s at %s): %d, want %d", i, s.src, s.at, got, s.want)
		}
	}
	if got := l.retryAfter(); got != 1 {
		t.Errorf("Retry-After %d, want 1", got)
	}
}

func TestRateLimiterOff(t *testing.T) {
	l := newRateLimiter(RateLimit{PerSecond: 0, Burst: 10})
	for range 1000 {
		if l.take(netip.MustParseAddr("192.0.2.1"), time.Now()) != admit {
			t.Fatal("a limit of 0 refused a request")
		}
	}
}

// The sources remembered are bounded: past the cap new sources share one
// bucket until idle sources are forgotten.
func TestRateLimiterBoundsSources(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := newRateLimiter(RateLimit{PerSecond: 10, Burst: 2})
	l.maxSources = 4
	src := func(i int) netip.Addr { return netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", i)) }
	for i := range 4 {
		l.take(src(i), t0)
	}
	// Two untracked sources share the overflow bucket: 2 served, then 503s.
	got := []verdict{l.take(src(10), t0), l.take(src(11), t0), l.take(src(12), t0)}
	if got[0] != admit || got[1] != admit || got[2] != shed {
		t.Errorf("overflow verdicts %v, want admit admit shed", got)
	}
	if n := len(l.sources); n != 4 {
		t.Errorf("%d sources tracked, want the cap 4", n)
	}
	// Once the tracked sources are idle (their buckets full again), a new
	// source takes a place of its own.
	later := t0.Add(2 * time.Second)
	if v := l.take(src(20), later); v != admit {
		t.Errorf("new source after idle: %d", v)
	}
	if _, ok := l.sources[src(20)]; !ok || len(l.sources) != 1 {
		t.Errorf("after the sweep %d sources tracked, want just the new one", len(l.sources))
	}
}
