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
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int(wait.Milliseconds()))
	if err != nil && err != unix.EINTR {
		t.Fatal(err)
	}
	return n == 1 && fds[0].Revents&unix.POLLIN != 0
}

// The tick relies on three things of the kernel timer: it expires when
// armed, arming it again makes it unexpired (so each expiry is a new
// edge for the runtime's edge-triggered poller, though nobody reads it),
// and disarming it stops a pending expiry.
func TestWakeFDExpiresRearmsAndDisarms(t *testing.T) {
	w := newWakeFD()
	if w.file == nil {
		t.Skip("no timerfd here")
	}
	defer w.close()

	w.arm(5 * time.Millisecond)
	if !readable(t, w, 2*time.Second) {
		t.Fatal("armed for 5 ms: not expired after 2 s")
	}
	w.arm(time.Hour)
	if readable(t, w, 0) {
		t.Fatal("armed again: still shows the last expiry, so the next one would be no new edge")
	}
	w.arm(20 * time.Millisecond)
	w.disarm()
	if readable(t, w, 200*time.Millisecond) {
		t.Fatal("disarmed: expired anyway")
	}
}

// Without a kernel timer (no timerfd, or not Linux) the tick still runs
// on Go's timer.
func TestTickTimerWithoutKernelTimer(t *testing.T) {
	tt := &tickTimer{Timer: time.NewTimer(time.Hour), wake: wakeFD{fd: -1}}
	defer tt.stop()
	for range 3 {
		tt.reset(time.Millisecond)
		select {
		case <-tt.C:
			tt.fired()
		case <-time.After(5 * time.Second):
			t.Fatal("the tick never fired")
		}
	}
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
			tt := &tickTimer{Timer: time.NewTimer(time.Hour), wake: wakeFD{fd: -1}}
			if kernel {
				tt.wake = newWakeFD()
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
