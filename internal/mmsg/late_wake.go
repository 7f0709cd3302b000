package mmsg

import (
	"errors"
	"os"
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
// gets no timer wakes.

// lateHold is how long after the last late read the reader keeps its
// deadline. Reads the deadline makes prompt do not renew it, so a short
// hold would let lateness return as soon as it had been cured; a second
// is far longer than a lull in a busy minute and far shorter than one in
// a quiet hour.
const lateHold = time.Second

// lateWake keeps the reader's deadline.
type lateWake struct {
	every time.Duration // 0: off
	until time.Time     // the deadline is kept until then
	armed bool          // a deadline is set on the socket
	wakes uint64        // waits that the deadline ended
}

// deadliner is the socket's, as *net.UDPConn has it.
type deadliner interface{ SetReadDeadline(time.Time) error }

// noteRead takes the arrival of the oldest datagram of a read made at
// now. A datagram that waited half of every was late: a prompt poller
// hands it over within microseconds, and one read on its deadline waits
// from none to all of every.
func (w *lateWake) noteRead(oldest, now time.Time) {
	if w.every > 0 && now.Sub(oldest) >= w.every/2 {
		w.until = now.Add(lateHold)
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
// then looks at the socket again instead of returning it.
func (w *lateWake) woke(err error) bool {
	if w.armed && errors.Is(err, os.ErrDeadlineExceeded) {
		w.wakes++
		return true
	}
	return false
}
