package media

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// readable reports whether w's timerfd has expired, waiting up to wait.
func readable(t *testing.T, w wakeFD, wait time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(max(time.Until(deadline), 0).Milliseconds()))
		if err == unix.EINTR { // poll is never restarted after a signal
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return n == 1 && fds[0].Revents&unix.POLLIN != 0
	}
}

// pending is how long until w's timerfd expires; 0 when it is disarmed.
func pending(t *testing.T, w wakeFD) time.Duration {
	t.Helper()
	var spec unix.ItimerSpec
	if err := unix.TimerfdGettime(w.fd, &spec); err != nil {
		t.Fatal(err)
	}
	return time.Duration(spec.Value.Nano())
}

func newWakeFDOrSkip(tb testing.TB) wakeFD {
	w := newWakeFD()
	if w.file == nil {
		tb.Skip("no timerfd here")
	}
	return w
}

// A timerfd the runtime's poller could not take (here: a blocking one,
// which os.NewFile leaves out of the poller without a word) would wake
// nobody: the tick gets no kernel timer rather than one it pays for on
// every tick.
func TestWakeFDOutsideThePollerIsNotUsed(t *testing.T) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC)
	if err != nil {
		t.Skip("no timerfd here")
	}
	w := wakeFDOf(fd)
	if w.file != nil {
		w.close()
		t.Fatal("a blocking timerfd, outside the runtime's poller, was kept as the tick's wake-up")
	}
	// This kernel has timerfds: the tick's own must be taken.
	if ok := newWakeFD(); ok.file == nil {
		t.Fatal("a non-blocking timerfd was refused")
	} else {
		ok.close()
	}
}

// The tick relies on three things of the kernel timer: it expires when
// armed, arming it again makes it unexpired (so each expiry is a new
// edge for the runtime's edge-triggered poller, though nobody reads it),
// and disarming it stops a pending expiry.
func TestWakeFDExpiresRearmsAndDisarms(t *testing.T) {
	w := newWakeFDOrSkip(t)
	defer w.close()

	w.arm(5 * time.Millisecond)
	if !readable(t, w, 5*time.Second) {
		t.Fatal("armed for 5 ms: not expired after 5 s")
	}
	w.arm(time.Hour)
	if readable(t, w, 0) {
		t.Fatal("armed again: still shows the last expiry, so the next one would be no new edge")
	}
	if p := pending(t, w); p <= 59*time.Minute {
		t.Fatalf("armed for an hour: expires in %v", p)
	}
	w.disarm()
	if p := pending(t, w); p != 0 {
		t.Fatalf("disarmed: still expires in %v", p)
	}
}

// A tick arms the kernel timer wakeMargin after Go's, disarms it once
// Go's has fired, and stop lets go of it.
func TestTickTimerArmsTheKernelTimerAfterGos(t *testing.T) {
	tt := newTickTimer(time.Hour)
	if tt.wake.file == nil {
		tt.stop()
		t.Skip("no timerfd here")
	}
	const d = 50 * time.Millisecond
	before := time.Now()
	tt.reset(d)
	p := pending(t, tt.wake)
	took := time.Since(before)
	// It was armed no sooner than before, for d+wakeMargin, and read no
	// later than before+took: so much must be left, whatever the load.
	if p < d+wakeMargin-took || p > d+wakeMargin {
		t.Fatalf("reset(%v): the kernel timer expires in %v (%v after the reset began), want %v after Go's", d, p, took, wakeMargin)
	}
	select {
	case <-tt.C:
	case <-time.After(5 * time.Second):
		t.Fatal("the tick never fired")
	}
	tt.fired()
	// Disarmed, whether or not it had expired meanwhile: neither pending
	// nor showing an expiry that would wake the runtime's poller.
	if p := pending(t, tt.wake); p != 0 || readable(t, tt.wake, 0) {
		t.Fatalf("fired: the kernel timer still expires in %v, or has expired unseen", p)
	}
	tt.stop()
	if tt.wake.file != nil {
		t.Fatal("stopped: still holds the kernel timer")
	}
	tt.reset(time.Millisecond) // must not touch the closed descriptor's number
	tt.timer.Stop()
}

// BenchmarkTickLateness measures how late a 2 ms phase tick fires on an
// otherwise idle process, with Go's timer alone and with the kernel
// timer beside it (tick_timer.go). As in Source.Run, each tick is due
// 2 ms after the last was due, and the tick's own work (a spin of 0 to
// 1 ms here, the sends there) leaves a wait that is not whole
// milliseconds. Go's timer alone is then up to 1 ms late, by a
// different amount each time: the jitter a caller hears.
//
//	go test -run '^$' -bench TickLateness -benchtime 500x ./sipcore/media
func BenchmarkTickLateness(b *testing.B) {
	for _, kernel := range []bool{false, true} {
		name := "go-timer"
		if kernel {
			name = "with-kernel-timer"
		}
		b.Run(name, func(b *testing.B) {
			tt := newTickTimer(time.Hour)
			if !kernel {
				tt.wake.close()
				tt.wake = wakeFD{}
			} else if tt.wake.file == nil {
				b.Skip("no timerfd here")
			}
			defer tt.stop()
			late := make([]time.Duration, 0, b.N)
			due := time.Now()
			work := time.Duration(0)
			for b.Loop() {
				work = (work + 377*time.Microsecond) % time.Millisecond
				for spin := time.Now(); time.Since(spin) < work; {
				}
				due = due.Add(phaseStep)
				if time.Until(due) < 0 {
					due = time.Now().Add(phaseStep) // fell behind (a busy machine)
				}
				tt.reset(time.Until(due))
				<-tt.C
				late = append(late, time.Since(due))
				tt.fired()
			}
			slices.Sort(late)
			b.ReportMetric(float64(late[len(late)/2].Microseconds()), "p50-late-µs")
			b.ReportMetric(float64(late[len(late)*99/100].Microseconds()), "p99-late-µs")
		})
	}
}
