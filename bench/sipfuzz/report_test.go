package main

import (
	"strings"
	"testing"
	"time"
)

// The verdict: what fails a run and what does not.
func TestJudge(t *testing.T) {
	healthy := func() Report {
		return Report{DaemonAlive: true, Canary: true, CanaryParked: "yes (API: parked in lot canary slot 9991)",
			canaryMaxSilence: 40 * time.Millisecond, RSSPeakKiB: 100 << 10}
	}
	lim := limits{maxSilence: time.Second, maxRSSKiB: 150 << 10}
	tests := []struct {
		name  string
		edit  func(r *Report)
		fails []string // substrings of the failures, in order; none = pass
	}{
		{"healthy", func(r *Report) {}, nil},
		{"daemon died", func(r *Report) { r.DaemonAlive, r.DaemonDied = false, "process gone" }, []string{"the daemon died: process gone"}},
		{"long silence", func(r *Report) { r.canaryMaxSilence, r.CanaryMaxSilence = 2*time.Second, "2s" }, []string{"no music for 2s"}},
		{"long silence while sipfuzz stalled too", func(r *Report) {
			r.canaryMaxSilence, r.CanaryMaxSilence = 2*time.Second, "2s"
			r.canaryOwnStall, r.CanaryOwnStall = 2*time.Second, "2s"
		}, []string{"the machine may be to blame"}},
		{"silence at the limit", func(r *Report) { r.canaryMaxSilence = time.Second }, nil},
		{"unparked", func(r *Report) { r.CanaryParked = "no: the API shows it bridged" }, []string{"not parked any more"}},
		{"parked state unknown", func(r *Report) { r.CanaryParked = "unknown: connection refused" }, nil},
		{"hung up", func(r *Report) { r.CanaryCallEnded = true }, []string{"ended by the daemon"}},
		{"RSS over", func(r *Report) { r.RSSPeakKiB = 151 << 10 }, []string{"RSS peaked at 151.0 MiB (limit 150 MiB)"}},
		{"no canary", func(r *Report) { *r = Report{DaemonAlive: true, CanaryParked: "not checked: no canary"} }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := healthy()
			tc.edit(&r)
			r.judge(lim)
			if r.Pass != (len(tc.fails) == 0) || len(r.Failures) != len(tc.fails) {
				t.Fatalf("pass %v, failures %q; want failures %q", r.Pass, r.Failures, tc.fails)
			}
			for i, want := range tc.fails {
				if !strings.Contains(r.Failures[i], want) {
					t.Errorf("failure %q, want it to say %q", r.Failures[i], want)
				}
			}
		})
	}
}
