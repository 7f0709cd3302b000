package sipcore

import (
	"log/slog"
	"testing"
	"time"
)

// Thousands of calls ending together at shutdown take parkd longer than
// the stall window in all; the wait must last while they keep ending, or
// the store closes under the last ones and their history is lost.
func TestAwaitEndingsWaitsWhileCallsKeepEnding(t *testing.T) {
	cases := []struct {
		name     string
		calls    int64
		interval time.Duration // between two calls ending; 0: none ends
		wantLeft int64
	}{
		{"steady endings outlast the stall window", 40, 20 * time.Millisecond, 0},
		{"a stuck call is given up on", 3, 0, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep := &Endpoint{log: slog.New(slog.DiscardHandler)}
			ep.ending.Store(tc.calls)
			stop := make(chan struct{})
			defer close(stop)
			if tc.interval > 0 {
				go func() {
					tick := time.NewTicker(tc.interval)
					defer tick.Stop()
					for ep.ending.Load() > 0 {
						select {
						case <-tick.C:
							ep.ending.Add(-1)
						case <-stop:
							return
						}
					}
				}()
			}
			// 40 endings 20 ms apart take 800 ms, four times the window.
			ep.awaitEndings(200 * time.Millisecond)
			if left := ep.ending.Load(); left != tc.wantLeft {
				t.Errorf("awaitEndings returned with %d calls not ended, want %d", left, tc.wantLeft)
			}
		})
	}
}
