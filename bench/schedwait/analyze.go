package main

import (
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

// Options say which waits are long and whose.
type Options struct {
	Focus string        // a substring of the root function whose long waits are explained
	Long  time.Duration // a wait at least this long is explained
}

// Durations summarises a set of durations.
type Durations struct {
	N             int
	Total         time.Duration
	P50, P99, Max time.Duration
}

func summarise(ds []time.Duration) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	slices.Sort(ds)
	var total time.Duration
	for _, d := range ds {
		total += d
	}
	return Durations{N: len(ds), Total: total, P50: ds[len(ds)/2], P99: ds[len(ds)*99/100], Max: ds[len(ds)-1]}
}

// Root is what the goroutines started by one function did.
type Root struct {
	Func string
	Runs Durations // each stretch on a P
	Wait Durations // each wait from runnable to running
}

// Share is part of the long waits' time.
type Share struct {
	Func string
	Time time.Duration
}

// Report is a trace's scheduling, by goroutine root function.
type Report struct {
	Span  time.Duration
	Roots []Root // most running time first
	GC    Durations
	// The focused goroutines' waits of at least Options.Long: how many,
	// how much of them fell in a GC mark phase, and who ran meanwhile
	// (most first).
	LongWaits    Durations
	LongWaitInGC time.Duration
	RanMeanwhile []Share
}

type interval struct {
	from, to trace.Time
	root     string
}

type goroutine struct {
	root       string
	running    trace.Time
	runnableAt trace.Time
}

// Analyze reads a runtime trace (runtime/trace, or /debug/pprof/trace).
func Analyze(r io.Reader, opts Options) (*Report, error) {
	tr, err := trace.NewReader(r)
	if err != nil {
		return nil, err
	}
	gs := map[trace.GoID]*goroutine{}
	runs := map[string][]time.Duration{}
	waits := map[string][]time.Duration{}
	var ran, long, marks []interval
	var markStart, first, last trace.Time
	for {
		ev, err := tr.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if first == 0 {
			first = ev.Time()
		}
		last = ev.Time()
		switch ev.Kind() {
		case trace.EventRangeBegin:
			if isMark(ev.Range().Name) {
				markStart = ev.Time()
			}
		case trace.EventRangeEnd:
			if isMark(ev.Range().Name) && markStart != 0 {
				marks = append(marks, interval{from: markStart, to: ev.Time()})
				markStart = 0
			}
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			from, to := st.Goroutine()
			g := gs[st.Resource.Goroutine()]
			if g == nil {
				g = &goroutine{}
				gs[st.Resource.Goroutine()] = g
			}
			if g.root == "" || g.root == unknownRoot {
				// A new goroutine's transition carries its start; one that
				// stops running shows its whole stack, outermost last.
				stack := st.Stack
				if from == trace.GoRunning {
					stack = ev.Stack()
				}
				g.root = outermost(stack)
			}
			switch {
			case to == trace.GoRunnable:
				g.runnableAt = ev.Time()
			case to == trace.GoRunning:
				g.running = ev.Time()
				if g.runnableAt != 0 {
					w := ev.Time().Sub(g.runnableAt)
					waits[g.root] = append(waits[g.root], w)
					if opts.Focus != "" && strings.Contains(g.root, opts.Focus) && w >= opts.Long {
						long = append(long, interval{from: g.runnableAt, to: ev.Time()})
					}
					g.runnableAt = 0
				}
			}
			if from == trace.GoRunning && g.running != 0 {
				runs[g.root] = append(runs[g.root], ev.Time().Sub(g.running))
				ran = append(ran, interval{from: g.running, to: ev.Time(), root: g.root})
				g.running = 0
			}
		}
	}
	rep := &Report{Span: last.Sub(first)}
	for root, ds := range runs {
		rep.Roots = append(rep.Roots, Root{Func: root, Runs: summarise(ds), Wait: summarise(waits[root])})
	}
	for root, ds := range waits {
		if _, ok := runs[root]; !ok {
			rep.Roots = append(rep.Roots, Root{Func: root, Wait: summarise(ds)})
		}
	}
	slices.SortFunc(rep.Roots, func(a, b Root) int { return int(b.Runs.Total - a.Runs.Total) })
	var markTimes, longTimes []time.Duration
	for _, m := range marks {
		markTimes = append(markTimes, m.to.Sub(m.from))
	}
	rep.GC = summarise(markTimes)
	meanwhile := map[string]time.Duration{}
	for _, w := range long {
		longTimes = append(longTimes, w.to.Sub(w.from))
		for _, m := range marks {
			rep.LongWaitInGC += overlap(w, m)
		}
		for _, r := range ran {
			if d := overlap(w, r); d > 0 {
				meanwhile[r.root] += d
			}
		}
	}
	rep.LongWaits = summarise(longTimes)
	for root, d := range meanwhile {
		rep.RanMeanwhile = append(rep.RanMeanwhile, Share{Func: root, Time: d})
	}
	slices.SortFunc(rep.RanMeanwhile, func(a, b Share) int { return int(b.Time - a.Time) })
	return rep, nil
}

// unknownRoot names a goroutine none of whose transitions showed its stack
// (one that was blocked from before the trace began to its end).
const unknownRoot = "(unknown)"

func isMark(name string) bool { return name == "GC concurrent mark phase" }

func overlap(a, b interval) time.Duration {
	from, to := max(a.from, b.from), min(a.to, b.to)
	if to <= from {
		return 0
	}
	return to.Sub(from)
}

// outermost is the stack's root function without its package path.
func outermost(s trace.Stack) string {
	var fn string
	for f := range s.Frames() {
		fn = f.Func
	}
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		fn = fn[i+1:]
	}
	if fn == "" {
		return unknownRoot
	}
	return fn
}
