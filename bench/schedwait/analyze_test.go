package main

import (
	"bytes"
	"runtime"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"
)

// hogThePCPU wakes the waiter, then keeps the only P busy for d, so the
// waiter sits runnable until the runtime preempts the hog.
func hogThePCPU(d time.Duration, wake chan<- time.Time, wg *sync.WaitGroup) {
	defer wg.Done()
	wake <- time.Now()
	for start := time.Now(); time.Since(start) < d; {
	}
}

// waitBehindTheHog only has to get the P once it is woken; it reports how
// long that took by its own clock.
func waitBehindTheHog(woken <-chan time.Time, waited *time.Duration, wg *sync.WaitGroup) {
	*waited = time.Since(<-woken)
	wg.Done()
}

// traceAWait traces one goroutine queued behind a hog on the only P, and
// how long it waited by its own clock.
func traceAWait(t *testing.T) (*bytes.Buffer, time.Duration) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("tracing is busy: %v", err)
	}
	var wg sync.WaitGroup
	var waited time.Duration
	wg.Add(2)
	wake := make(chan time.Time, 1)
	go waitBehindTheHog(wake, &waited, &wg)
	go hogThePCPU(30*time.Millisecond, wake, &wg)
	wg.Wait()
	runtime.GC()
	trace.Stop()
	return &buf, waited
}

// The report names the goroutines by their functions, measures the wait
// as the waiter lived it, says who ran meanwhile, and sees the GC cycle
// that followed.
func TestAnalyzeExplainsAWaitBehindAHog(t *testing.T) {
	var buf *bytes.Buffer
	var waited time.Duration
	// The runtime may preempt the hog at once (it inherits what was left of
	// another goroutine's time slice); try again for a wait worth the name.
	for range 10 {
		if buf, waited = traceAWait(t); waited >= 2*time.Millisecond {
			break
		}
	}
	if waited < 2*time.Millisecond {
		t.Skipf("the hog never kept the P for 2 ms (last wait %v)", waited)
	}
	rep, err := Analyze(buf, Options{Focus: "waitBehindTheHog", Long: waited / 2})
	if err != nil {
		t.Fatal(err)
	}
	// A test binary names package main by its import path's last element.
	var hog, waiter Root
	for _, r := range rep.Roots {
		switch {
		case strings.HasSuffix(r.Func, ".hogThePCPU"):
			hog = r
		case strings.HasSuffix(r.Func, ".waitBehindTheHog"):
			waiter = r
		}
	}
	if hog.Runs.Total < waited/2 {
		t.Errorf("the hog ran %v in all, want ≥ %v (roots: %v)", hog.Runs.Total, waited/2, rootNames(rep))
	}
	// The two clocks read the wait at slightly different moments, further
	// apart on a loaded machine under the race detector (1.07 ms of 11 ms
	// once in a full CI run): a fifth of the wait, at least 1 ms.
	slack := max(time.Millisecond, waited/5)
	if d := waiter.Wait.Max - waited; d < -slack || d > slack {
		t.Errorf("the waiter waited at most %v in the trace, %v by its own clock", waiter.Wait.Max, waited)
	}
	if rep.LongWaits.N != 1 {
		t.Fatalf("%d long waits, want the waiter's one", rep.LongWaits.N)
	}
	var hogMeanwhile time.Duration
	for _, s := range rep.RanMeanwhile {
		if strings.HasSuffix(s.Func, ".hogThePCPU") {
			hogMeanwhile = s.Time
		}
	}
	if hogMeanwhile == 0 {
		t.Errorf("ran meanwhile %v, want the hog among them", rep.RanMeanwhile)
	}
	if rep.GC.N < 1 {
		t.Errorf("no GC mark phase seen after runtime.GC")
	}
}

func rootNames(rep *Report) string {
	var names []string
	for _, r := range rep.Roots {
		names = append(names, r.Func)
	}
	return strings.Join(names, ", ")
}

func TestAnalyzeRefusesWhatIsNoTrace(t *testing.T) {
	for _, in := range []string{"", "not a trace", "go 1.99 trace\x00\x00\x00"} {
		if _, err := Analyze(strings.NewReader(in), Options{}); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestSummarise(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		in   []time.Duration
		want Durations
	}{
		{nil, Durations{}},
		{[]time.Duration{3 * ms}, Durations{N: 1, Total: 3 * ms, P50: 3 * ms, P99: 3 * ms, Max: 3 * ms}},
		{[]time.Duration{4 * ms, 1 * ms, 2 * ms, 3 * ms}, Durations{N: 4, Total: 10 * ms, P50: 3 * ms, P99: 4 * ms, Max: 4 * ms}},
	}
	for _, tt := range tests {
		if got := summarise(tt.in); got != tt.want {
			t.Errorf("summarise(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
