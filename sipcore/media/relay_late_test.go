package media

import (
	"testing"
	"time"
)

// tooLate drops only what it can tell is late, and nothing with no max.
func TestTooLate(t *testing.T) {
	const now = int64(1e18)
	for _, tc := range []struct {
		name    string
		max     time.Duration
		arrival int64
		want    bool
	}{
		{"just in time", 100 * time.Millisecond, now - int64(100*time.Millisecond), false},
		{"over the max", 100 * time.Millisecond, now - int64(100*time.Millisecond) - 1, true},
		{"no stamp", 100 * time.Millisecond, 0, false},
		{"stamped after now (a clock step)", 100 * time.Millisecond, now + int64(time.Second), false},
		{"waited longer than can be believed (a clock step)", 100 * time.Millisecond, now - int64(maxLag) - 1, false},
		{"waited just believably long", 100 * time.Millisecond, now - int64(maxLag), true},
		{"no max", 0, now - int64(time.Hour), false},
		{"negative max reads as none", -time.Second, now - int64(time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withMaxRelayDelay(t, tc.max)
			if got := tooLate(tc.arrival, now); got != tc.want {
				t.Errorf("tooLate = %v, want %v", got, tc.want)
			}
		})
	}
}
