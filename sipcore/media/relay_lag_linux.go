package media

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// stampReads makes the kernel keep, for fd, the arrival stamp of the
// datagram last read (SOCK_TIMESTAMP), which sampleLag asks for: the
// first SIOCGSTAMPNS sets it (and finds no stamp yet). Without it the
// kernel answers a sample with the time of the asking, and every lag
// would read as 0 (TestRelaySamplesItsLag).
func stampReads(fd int) {
	var ts unix.Timespec
	unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCGSTAMPNS, uintptr(unsafe.Pointer(&ts)))
}

// sampleLag notes the lag of the datagram just read from fd; the
// socket's readMu is held, so fd is still this socket.
func sampleLag(fd int) {
	var ts unix.Timespec
	if _, _, errno := unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCGSTAMPNS, uintptr(unsafe.Pointer(&ts))); errno != 0 {
		return
	}
	now := time.Now()
	relayLag.note(now, now.Sub(time.Unix(ts.Unix())))
}

// lagProbe says when a poller samples next; only its goroutine uses it.
type lagProbe struct{ next time.Time }

// due reports whether a sample is due at now.
func (p *lagProbe) due(now time.Time) bool { return !now.Before(p.next) }

// taken schedules the next sample after one taken at now. A round that
// read nothing leaves the sample due, for the next datagram read.
func (p *lagProbe) taken(now time.Time) { p.next = now.Add(lagProbeEvery) }
