package media

import (
	"testing"
	"time"
)

func TestLagWindowKeepsTheWorstOfAboutASecond(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	type sample struct {
		at  time.Duration // after t0
		lag time.Duration
	}
	for _, tc := range []struct {
		name    string
		samples []sample
		at      time.Duration
		want    time.Duration
	}{
		{"nothing sampled", nil, 0, 0},
		{"one sample", []sample{{0, 30 * time.Millisecond}}, 500 * time.Millisecond, 30 * time.Millisecond},
		{"the worst of two", []sample{{0, 30 * time.Millisecond}, {200 * time.Millisecond, 80 * time.Millisecond}, {400 * time.Millisecond, 10 * time.Millisecond}}, 500 * time.Millisecond, 80 * time.Millisecond},
		{"the window before counts", []sample{{0, 30 * time.Millisecond}}, 1500 * time.Millisecond, 30 * time.Millisecond},
		{"two windows back is forgotten", []sample{{0, 30 * time.Millisecond}}, 2500 * time.Millisecond, 0},
		{"a better second replaces a worse", []sample{{0, 300 * time.Millisecond}, {1200 * time.Millisecond, 10 * time.Millisecond}}, 2100 * time.Millisecond, 10 * time.Millisecond},
		{"after an idle minute", []sample{{0, 300 * time.Millisecond}, {time.Minute, 5 * time.Millisecond}}, time.Minute, 5 * time.Millisecond},
		{"a clock step back reads as none", []sample{{0, -time.Second}}, 0, 0},
		{"a clock step forward is bounded", []sample{{0, time.Hour}}, 0, maxLag},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w lagWindow
			for _, s := range tc.samples {
				w.note(t0.Add(s.at), s.lag)
			}
			if got := w.worst(t0.Add(tc.at)); got != tc.want {
				t.Errorf("worst = %v, want %v", got, tc.want)
			}
		})
	}
}
