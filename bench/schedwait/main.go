// Command schedwait reads a runtime trace of parkd and says where its
// goroutines waited for a CPU, and why: for each goroutine root function
// how long it ran and how long it sat runnable, the GC mark phases, and
// for the long waits of one root (by default the SIP request handlers)
// how much fell in a mark phase and what ran meanwhile. With GOMAXPROCS 1
// (parkd pinned to one core) a wait is time another goroutine held the P.
//
//	curl -H "Authorization: Bearer $(cat DATA/token)" -o parkd.trace \
//	    'http://127.0.0.1:7080/debug/pprof/trace?seconds=5'
//	go run ./bench/schedwait parkd.trace
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	focus := flag.String("focus", "handleRequestBackground", "explain the long waits of goroutines whose root function contains this")
	long := flag.Duration("long", 20*time.Millisecond, "a wait at least this long is explained")
	top := flag.Int("top", 15, "rows per table")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: schedwait [flags] TRACE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "schedwait:", err)
		os.Exit(1)
	}
	defer f.Close()
	rep, err := Analyze(f, Options{Focus: *focus, Long: *long})
	if err != nil {
		fmt.Fprintln(os.Stderr, "schedwait: reading the trace:", err)
		os.Exit(1)
	}
	write(os.Stdout, rep, *focus, *long, *top)
}

func write(w io.Writer, rep *Report, focus string, long time.Duration, top int) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(w, "trace of %s\n\n", rep.Span.Round(time.Millisecond))
	fmt.Fprintf(w, "%-60s %8s %9s %8s %8s %8s %8s %8s\n", "goroutine root", "runs", "ran ms", "run p99", "run max", "waits", "wait p50", "wait p99")
	for i, r := range rep.Roots {
		if i == top {
			break
		}
		fmt.Fprintf(w, "%-60.60s %8d %9s %8s %8s %8d %8s %8s\n", r.Func, r.Runs.N, ms(r.Runs.Total), ms(r.Runs.P99), ms(r.Runs.Max),
			r.Wait.N, ms(r.Wait.P50), ms(r.Wait.P99))
	}
	fmt.Fprintf(w, "\nGC mark phases: %d, %s ms in all, p50 %s ms, max %s ms\n", rep.GC.N, ms(rep.GC.Total), ms(rep.GC.P50), ms(rep.GC.Max))
	fmt.Fprintf(w, "\nwaits of %q of %s or more: %d, %s ms in all", focus, long, rep.LongWaits.N, ms(rep.LongWaits.Total))
	if rep.LongWaits.Total == 0 {
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, ", %.0f %% of it in a GC mark phase; running meanwhile:\n", 100*float64(rep.LongWaitInGC)/float64(rep.LongWaits.Total))
	for i, s := range rep.RanMeanwhile {
		if i == top {
			break
		}
		fmt.Fprintf(w, "  %5.1f %%  %s\n", 100*float64(s.Time)/float64(rep.LongWaits.Total), s.Func)
	}
}
