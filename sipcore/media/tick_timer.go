package media

import "time"

// tickTimer is the timer the music and prompt tickers sleep on between
// phases. Go's timers alone wake an idle process up to a millisecond
// late: the runtime sleeps in epoll_wait, whose timeout is whole
// milliseconds, rounded so that it never wakes early. A phase every 2 ms
// that leaves up to 1 ms late, by a different amount each period, was
// most of what a caller measured as jitter (p50 0.3 ms at 2,000 callers
// on a quiet box; 0.02 ms with this). So beside the Go timer a kernel
// timer is armed (wakeFD, Linux: a timerfd in the runtime's own epoll
// set), whose expiry ends that sleep on time; the Go timer then fires as
// usual. On a busy process the runtime looks at its timers at every
// scheduling point and the kernel timer is not needed.
type tickTimer struct {
	C     <-chan time.Time
	timer *time.Timer // not embedded: its Reset alone would skip the kernel timer
	wake  wakeFD
}

// wakeMargin is how long after the Go timer the kernel's expires. When
// the process is awake the Go timer fires first, and the ticker disarms
// the kernel's (fired) before it can wake an idle thread for nothing:
// without the margin those wake-ups cost more than a tenth of music's
// CPU. When the process sleeps, every tick wakes about the same margin
// late (within the timer slack, some 50 µs), which is next to no jitter.
const wakeMargin = 200 * time.Microsecond

func newTickTimer(d time.Duration) *tickTimer {
	timer := time.NewTimer(d)
	t := &tickTimer{C: timer.C, timer: timer, wake: newWakeFD()}
	t.wake.arm(max(d, 0) + wakeMargin)
	return t
}

// reset re-arms both timers for d from now.
func (t *tickTimer) reset(d time.Duration) {
	t.timer.Reset(d)
	t.wake.arm(max(d, 0) + wakeMargin)
}

// fired is called once C has been read: the kernel timer, if it has not
// expired yet, is not needed this time.
func (t *tickTimer) fired() { t.wake.disarm() }

// stop stops the timer for good and releases the kernel timer; a reset
// after it would no longer touch the closed descriptor's number, which
// may by then be another file's.
func (t *tickTimer) stop() {
	t.timer.Stop()
	t.wake.close()
	t.wake = wakeFD{}
}
