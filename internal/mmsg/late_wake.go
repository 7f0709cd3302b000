package mmsg

import (
	"errors"
	"os"
	"runtime/metrics"
	"time"
)

// Go's scheduler asks the poller which sockets have input only when its P
// has nothing else to run, or from sysmon once no one has asked for
// 10 ms. A process pinned to one busy core rarely runs out of work, so a
// datagram can sit in the socket's queue for 10–20 ms before its reader
// is even runnable, and then it queues behind everything else that is.
// parkd measured this at 1,000 park-then-retrieve pairs a second: most
// of an INVITE's time to its 200 passed before the SIP socket was read
// (docs/PERFORMANCE.md, twenty-first pass).
//
// A read deadline is a timer, and the runtime runs due timers at every
// scheduling point; the goroutine a timer wakes is the one its P runs
// next. So once a datagram has been read late, the reader waits with a
// deadline of every, and on waking looks at the socket itself: input
// waits for at most about every (and whatever goroutine holds the P
// then) rather than for the run queue to drain.
//
// At rest reads are never late, and no deadline is set: an idle daemon
// gets no timer wakes. A read can also be late because the kernel ran
// another process on the core. The P was idle then: Go's poller hands
// the input over the moment the thread runs again, and a deadline only
// wakes the thread from its sleep when nothing came (two daemons sharing
// a core at 250 pairs a second each paid 11 % more CPU per pair for it).
// So the deadline's wakes are counted: one that finds input was needed,
// as is a late read while other goroutines wait for the P (the poller was
// not asked); one that finds none while nothing else is runnable was
// needless, as it woke an idle thread; one that finds none on a busy P
// cost a goroutine switch and says nothing (input comes in bursts, and
// the deadline is for the next one). A late read keeps the deadline for
// lateHold while the needed wakes outnumber the needless over the last
// few seconds; for a trial of trialWakes wakes, which the counts learn
// from, when neither does; and not at all while the needless outnumber
// the needed, which also ends a hold at once.

// lateHold is how long after the last late read the reader keeps its
// deadline, and how often the wake counts are halved. Reads the deadline
// makes prompt do not renew it, so a short hold would let lateness return
// as soon as it had been cured; a second is far longer than a lull in a
// busy minute and far shorter than one in a quiet hour.
const lateHold = time.Second

// maxWakeCount caps both counts, so that a busy hour's verdict gives way
// to a few dozen needless wakes rather than to thousands.
const maxWakeCount = 64

// trialWakes is how many deadlines a trial lasts: enough for a busy
// reader's wakes to show that they find input, few enough that an idle
// one's cost nothing to speak of.
const trialWakes = 16

// lateWake keeps the reader's deadline.
type lateWake struct {
	every time.Duration // 0: off
	until time.Time     // the deadline is kept until then
	armed bool          // a deadline is set on the socket
	// woken: the last wait was ended by the deadline, and the next look at
	// the socket says whether that was needed. needed and needless count
	// such wakes, halved every lateHold from halveAt on.
	woken            bool
	needed, needless uint32
	halveAt          time.Time
	// othersRunnable reports whether a goroutine besides the caller is
	// waiting for a P (runnable, in runtime/metrics' words).
	othersRunnable func() bool
	onWake         func() // tests only: called at each wake
	wakes          uint64 // waits that the deadline ended
}

// deadliner is the socket's, as *net.UDPConn has it.
type deadliner interface{ SetReadDeadline(time.Time) error }

// noteRead takes the arrival of the oldest datagram of a read made at
// now. A datagram that waited half of every was late: a prompt poller
// hands it over within microseconds, and one read on its deadline waits
// from none to all of every.
func (w *lateWake) noteRead(oldest, now time.Time) {
	if w.every == 0 {
		return
	}
	if !now.Before(w.halveAt) {
		// Once per lateHold gone by, also when no read came for hours.
		halvings := min(32, 1+now.Sub(w.halveAt)/lateHold)
		w.needed, w.needless, w.halveAt = w.needed>>halvings, w.needless>>halvings, now.Add(lateHold)
	}
	late := now.Sub(oldest) >= w.every/2
	// A wake that found input was needed; so was one that did not come,
	// if the read is late while others wait for the P: Go's poller was not
	// asked.
	needed := w.woken || late && w.othersRunnable != nil && w.othersRunnable()
	w.woken = false
	if needed {
		w.needed = min(w.needed+1, maxWakeCount)
	}
	if !late {
		return
	}
	switch trial := now.Add(trialWakes * w.every); {
	case w.needed > w.needless:
		w.until = now.Add(lateHold)
	case w.needed == w.needless && w.until.Before(trial):
		w.until = trial
	}
}

// noteEmpty says the socket had nothing when the reader looked. Once the
// needless wakes outnumber the needed, the deadline goes at once: a hold
// that a few needed wakes began would otherwise last its full second.
func (w *lateWake) noteEmpty() {
	if !w.woken {
		return
	}
	w.woken = false
	if w.othersRunnable != nil && w.othersRunnable() {
		return
	}
	if w.needless = min(w.needless+1, maxWakeCount); w.needless > w.needed {
		w.until = time.Time{}
	}
}

// schedRunnable is othersRunnable from runtime/metrics, asked only when a
// deadline wake found nothing. It takes the scheduler's lock and walks
// the Ps' run queues (about 60 ns on parkd's one P); where the runtime
// has no such metric, every such wake counts as needless.
func schedRunnable() func() bool {
	sample := []metrics.Sample{{Name: "/sched/goroutines/runnable:goroutines"}}
	return func() bool {
		metrics.Read(sample)
		return sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > 0
	}
}

// beforeWait sets or clears the socket's deadline before the reader waits.
func (w *lateWake) beforeWait(c deadliner) {
	if w.every == 0 {
		return
	}
	now := time.Now()
	switch {
	case now.Before(w.until):
		w.armed = true
		c.SetReadDeadline(now.Add(w.every))
	case w.armed:
		w.armed = false
		c.SetReadDeadline(time.Time{})
	}
}

// woke reports whether err is the deadline ending a wait: the reader
// then looks at the socket again instead of returning it. A deadline that
// passed while the reader was busy ends the next wait before it begins,
// and counts the same: the reader was as late. The last deadline of a
// hold, set before the hold ended, is not judged.
func (w *lateWake) woke(err error) bool {
	if !w.armed || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	w.wakes++
	w.woken = time.Now().Before(w.until)
	if w.onWake != nil {
		w.onWake()
	}
	return true
}
