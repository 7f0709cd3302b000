package media

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// wakeFD is a timerfd registered with the runtime's network poller
// (os.NewFile on a non-blocking descriptor). Nobody reads it: its expiry
// only has to end the poller's epoll_wait, and arming it again resets
// it, so each expiry is a new edge. The zero value (no timerfd: the
// descriptor limit, say) does nothing, and the tick falls back to Go's
// timer alone.
type wakeFD struct {
	fd   int
	file *os.File // keeps the registration; closing it deregisters
}

func newWakeFD() wakeFD {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return wakeFD{fd: -1}
	}
	return wakeFDOf(fd)
}

// wakeFDOf registers the timerfd fd with the runtime's poller, or closes
// it and returns a wakeFD that does nothing when that failed: os.NewFile says
// nothing then, and every tick would arm and disarm a timer that wakes
// nobody. Only a registered file takes a deadline.
func wakeFDOf(fd int) wakeFD {
	f := os.NewFile(uintptr(fd), "tick-wake")
	if f.SetDeadline(time.Time{}) != nil {
		f.Close()
		return wakeFD{fd: -1}
	}
	return wakeFD{fd: fd, file: f}
}

// arm sets it to expire once, d from now (d > 0).
func (w wakeFD) arm(d time.Duration) { w.set(unix.NsecToTimespec(int64(d))) }

func (w wakeFD) disarm() { w.set(unix.Timespec{}) }

func (w wakeFD) set(value unix.Timespec) {
	if w.file == nil {
		return
	}
	spec := unix.ItimerSpec{Value: value}
	unix.TimerfdSettime(w.fd, 0, &spec, nil)
}

func (w wakeFD) close() {
	if w.file != nil {
		w.file.Close()
	}
}
