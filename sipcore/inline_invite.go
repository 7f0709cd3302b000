package sipcore

import (
	"errors"
	"sync/atomic"
	"time"
)

// A new call's INVITE over UDP is handled on the read loop that read it,
// not handed to the handler pool. At 1,000 pairs/s the hand-over waited
// for the CPU 3.6–4.5 ms at p99, half of an INVITE's time to its answer
// (docs/PERFORMANCE.md, twenty-seventh and twenty-eighth passes), while
// the handler's own work is a tenth of a millisecond.
//
// A handler may still wait: for a BYE's answer, which only a read loop
// reads, or for seconds (a prompt played, a call ringing the attendant).
// So a loop whose handler runs past inlineBudget is taken over: a new
// read loop starts on the same socket, reading on from where the old one
// stopped (the socket's reader keeps what it read ahead), and the old
// loop ends once its handler returns, by the read filter's error. No
// handler needs to know where it runs.

// inlineBudget is how long a handler runs on the read loop before the
// loop is taken over: what a datagram behind a waiting handler waits at
// most, beyond the CPU's own delays; several times a handler's p99 work.
const inlineBudget = 2 * time.Millisecond

// Beyond two bounds a new call's handler goes to the pool, as before:
//   - maxTakenOver, the former read loops still in a handler after a
//     takeover, each holding sipgo's 32 KiB read buffer: a flood of
//     INVITEs whose handlers wait costs no more than it did there;
//   - maxTakeoversPerSecond: each takeover holds the socket up for
//     inlineBudget, so where most handlers wait (a lot that rings before
//     it answers, a busy attendant queue) new calls' handlers go to the
//     pool but for a few a second, and the loop is held up less than 1 %
//     of the time.
//
// Variables for tests, as is the second the takeovers are counted over.
var (
	maxTakenOver          int32 = 8
	maxTakeoversPerSecond int32 = 4
	takeoverWindow              = time.Second
)

// errRetiredReadLoop is the read filter's error that ends a read loop
// taken over: sipgo stops reading on that loop and logs it, at TRACE
// (sipgoLog).
var errRetiredReadLoop = errors.New("sipcore: a SIP read loop taken over by another ends")

// inlineRuns is a listener's side of it.
type inlineRuns struct {
	// run is the handler in progress on the loop: its start, in
	// nanoseconds of inlineClock, or 0 when none. Taking a loop over
	// swaps it to 0; so does the loop when its handler returns, and the
	// one that does it first decides.
	run  atomic.Int64
	last int64 // the last run's start; the loop running handlers owns it
	// timer takes the loop over when a run lasts inlineBudget.
	timer *time.Timer
	// takenOver counts former loops still in their handler.
	takenOver atomic.Int32
	// takeovers counts those of the takeoverWindow (of inlineClock) in
	// second.
	second    atomic.Int64
	takeovers atomic.Int32
	// serve starts a new read loop on the socket; nil until it serves.
	serve func()
}

// inlineClock is the monotonic clock of runs' starts.
var inlineClock = time.Now()

func inlineNow() int64 { return int64(time.Since(inlineClock)) }

// serveInline lets the listener run handlers on its read loop; serve
// starts another loop on it.
func (s *stampedConn) serveInline(serve func()) {
	s.inline.timer = time.AfterFunc(time.Hour, s.takeOver)
	s.inline.timer.Stop()
	s.inline.serve = serve
}

// inlineOutcome is what handleInline did.
type inlineOutcome int

const (
	notInline     inlineOutcome = iota // past a bound, or not serving: the caller runs the handler elsewhere
	ranInline                          // the handler ran, and the loop reads on
	loopTakenOver                      // the handler ran, and the loop ends: another reads the socket
)

// handleInline runs handle on the read loop, unless a bound says not to.
// Called from the read filter only.
func (s *stampedConn) handleInline(handle func()) inlineOutcome {
	r := &s.inline
	if r.serve == nil || r.takenOver.Load() >= maxTakenOver {
		return notInline
	}
	now := inlineNow()
	if r.second.Load() == now/int64(takeoverWindow) && r.takeovers.Load() >= maxTakeoversPerSecond {
		return notInline
	}
	start := max(now, r.last+1) // each run its own, so a late timer cannot take the next
	r.last = start
	r.run.Store(start)
	r.timer.Reset(inlineBudget)
	handle()
	if r.run.CompareAndSwap(start, 0) {
		r.timer.Stop() // not before: once taken over, the timer is the next loop's
		return ranInline
	}
	r.takenOver.Add(-1)
	return loopTakenOver
}

// retire is the read filter's part on a loop taken over: it carries the
// loop's sources over before sipgo's cleanup drops them (udp_restart.go),
// has the loop reading now restart at its next read (the carry may have
// replaced entries that loop made, which it would not make again), counts
// the loop's end for its goroutine (loopEnded), and returns the error
// that ends it.
func (s *stampedConn) retire() error {
	s.carryMu.Lock()
	s.carryOver()
	s.restartDue.Store(true)
	s.carryMu.Unlock()
	s.retiredExits.Add(1)
	return errRetiredReadLoop
}

// takeOver is the timer's: the handler on the loop has run inlineBudget,
// so another loop starts reading. A timer that fired for a run already
// over finds the next one too young, or none.
func (s *stampedConn) takeOver() {
	r := &s.inline
	start, now := r.run.Load(), inlineNow()
	if start == 0 || now-start < int64(inlineBudget) {
		return
	}
	if !r.run.CompareAndSwap(start, 0) {
		return // its handler returned meanwhile
	}
	r.takenOver.Add(1)
	if sec := now / int64(takeoverWindow); r.second.Swap(sec) != sec {
		r.takeovers.Store(0) // a second begun: a race with another takeover only miscounts one
	}
	r.takeovers.Add(1)
	r.serve()
}
