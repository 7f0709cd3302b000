package media

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// stampReads has the kernel hand every datagram read from fd with its
// arrival time (SO_TIMESTAMPNS), which the relay reads with it in the
// same system call: for its lag samples, and to tell a packet too late to
// relay. Without it no packet has a stamp: the lag reads 0 and nothing
// is ever too late (TestRelaySamplesItsLag, TestRelayDropsWhatCameTooLate).
func stampReads(fd int) {
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
}

// arrivalStamp is room for the control message SO_TIMESTAMPNS adds to a
// datagram read with recvmsg(2): a cmsghdr and a timespec, 32 bytes on
// 64-bit Linux and 20 on 32-bit. Words, so its header is aligned.
type arrivalStamp [4]uint64

// stampDataOffset is where the timespec starts: the cmsghdr, aligned.
var stampDataOffset = unix.CmsgLen(0)

func (c *arrivalStamp) header() *unix.Cmsghdr { return (*unix.Cmsghdr)(unsafe.Pointer(c)) }

// reset marks the stamp as not given; done before each read, since the
// kernel writes nothing where it has no stamp.
func (c *arrivalStamp) reset() {
	h := c.header()
	h.Level, h.Type = 0, 0
}

// unixNano is the kernel's arrival time of the datagram last read into
// c, 0 when it gave none.
func (c *arrivalStamp) unixNano() int64 {
	h := c.header()
	if h.Level != unix.SOL_SOCKET || h.Type != unix.SO_TIMESTAMPNS {
		return 0
	}
	return (*unix.Timespec)(unsafe.Add(unsafe.Pointer(c), stampDataOffset)).Nano()
}

// sampleLag notes the lag of a datagram the relay read at now (Unix
// nanoseconds) that arrived at arrival (0: no stamp, no sample).
func sampleLag(arrival, now int64) bool {
	if arrival == 0 {
		return false
	}
	relayLag.note(time.Unix(0, now), time.Duration(now-arrival))
	return true
}

// lagProbe says when a poller samples next; only its goroutine uses it.
type lagProbe struct{ next time.Time }

// due reports whether a sample is due at now.
func (p *lagProbe) due(now time.Time) bool { return !now.Before(p.next) }

// taken schedules the next sample after one taken at now. A round that
// read nothing leaves the sample due, for the next datagram read.
func (p *lagProbe) taken(now time.Time) { p.next = now.Add(lagProbeEvery) }
