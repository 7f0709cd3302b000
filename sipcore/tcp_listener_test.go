package sipcore

import (
	"testing"
	"time"
)

// logEvery lets one line through per interval and reports how many it
// held back in between.
func TestLogEvery(t *testing.T) {
	l := logEvery{every: time.Second}
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at         time.Duration
		ok         bool
		suppressed int
	}{
		{0, true, 0},
		{10 * time.Millisecond, false, 0},
		{500 * time.Millisecond, false, 0},
		{999 * time.Millisecond, false, 0},
		{time.Second, true, 3},
		{1500 * time.Millisecond, false, 0},
		{5 * time.Second, true, 1},
		{7 * time.Second, true, 0},
	}
	for _, s := range steps {
		ok, n := l.allow(t0.Add(s.at))
		if ok != s.ok || n != s.suppressed {
			t.Errorf("at %s: allow %v with %d suppressed, want %v with %d", s.at, ok, n, s.ok, s.suppressed)
		}
	}
}

func TestTCPLimitsDefaults(t *testing.T) {
	var l TCPLimits
	l.setDefaults()
	want := TCPLimits{MaxConnections: 10000, MaxPerSource: 200, IdleTimeout: 5 * time.Minute, MessageTimeout: 10 * time.Second}
	if l != want {
		t.Errorf("defaults %+v, want %+v (sip.tcp in DESIGN)", l, want)
	}
	never := TCPLimits{IdleTimeout: NoIdleTimeout}
	never.setDefaults()
	if never.IdleTimeout != NoIdleTimeout {
		t.Errorf("NoIdleTimeout became %s", never.IdleTimeout)
	}
}
