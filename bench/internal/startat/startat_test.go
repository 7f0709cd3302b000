package startat

import (
	"strings"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	first := time.Unix(1000, 0)
	period := 10 * time.Second
	tests := []struct {
		name   string
		now    time.Time
		window int
		slept  time.Duration
		err    string
		said   string
	}{
		{"first window ahead: sleeps until it", first.Add(-3 * time.Second), 0, 3 * time.Second, "", ""},
		{"later window ahead: sleeps until its slot", first.Add(15 * time.Second), 2, 5 * time.Second, "", ""},
		{"first window passed: setup too slow", first.Add(2 * time.Second), 0, 0, "2s in the past", ""},
		{"later window a little late: silent", first.Add(10*time.Second + 50*time.Millisecond), 1, 0, "", ""},
		{"later window late: said", first.Add(10*time.Second + 700*time.Millisecond), 1, 0, "", "window 2 starts 700ms late"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var slept time.Duration
			var said strings.Builder
			err := wait(&said, func() time.Time { return tt.now }, func(d time.Duration) { slept = d }, first, tt.window, period)
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err %v, want one saying %q", err, tt.err)
			}
			if slept != tt.slept {
				t.Errorf("slept %v, want %v", slept, tt.slept)
			}
			if !strings.Contains(said.String(), tt.said) || (tt.said == "" && said.Len() > 0) {
				t.Errorf("said %q, want %q", said.String(), tt.said)
			}
		})
	}
}
