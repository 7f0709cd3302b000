package media

import (
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvBatch reads one datagram from each of up to sendBatchMax ready
// sockets of a poller with one io_uring submission, where a recvfrom each
// cost a system call per packet. It reads into slots of its own, in which
// a relayed packet is rewritten and from which out sends it: out is
// flushed before the slots are read into again.
type recvBatch struct {
	out *sendBatch // whose ring (and logger) it shares: one goroutine uses both

	slots [sendBatchMax][maxPacketLen]byte
	msgs  [sendBatchMax]unix.Msghdr
	iovs  [sendBatchMax]unix.Iovec
	from  [sendBatchMax]unix.RawSockaddrAny
	res   [sendBatchMax]int32
	// stamps are the datagrams' arrival times (relay_lag_linux.go).
	stamps [sendBatchMax]arrivalStamp
	socks  [sendBatchMax]*udpSocket // read this round, readMu held; nil: not read
	// dropLate: a packet that came too late is not relayed (relay_late.go).
	// Only the pollers drop: a socket the quiet sweep reads waits for it
	// by design, even bridged (when epoll would not take it).
	dropLate bool
	// sampleNext: the next datagram read is a sample of the relay's lag
	// (relay_lag.go); set by a poller, never by the quiet sweep, whose
	// sockets wait by design.
	sampleNext bool
}

// recvBatchReads counts the batches read, and batchLagSamples the relay's
// lag samples taken in one, for tests to see the path taken.
var recvBatchReads, batchLagSamples atomic.Uint64

// newRecvBatch reads through out's ring; nil when out has none. A
// poller's batch drops late packets (dropLate); the quiet sweep's does not.
func newRecvBatch(out *sendBatch, dropLate bool) *recvBatch {
	if out.ring == nil {
		return nil
	}
	return &recvBatch{out: out, dropLate: dropLate}
}

// usable says whether the ring still works (out drops a failed one), and
// whether tests want the one-by-one path (noSendRing).
func (in *recvBatch) usable() bool {
	return in != nil && in.out.ring != nil && !noSendRing.Load()
}

// read reads and handles one datagram from each session of ready (at most
// sendBatchMax), and sends what they relay. Each socket's readMu is held
// from before its read until its packet is handled, as readOne holds it,
// so a socket being closed is never read. The lock is only tried: a
// socket whose lock is busy (being closed, or moved to another poller
// that holds it, in the other order) is left for the next round, where,
// being level-triggered, it is ready again; waiting for it while holding
// the others could deadlock. If the ring fails, what this round read is
// lost, and the next rounds read one by one. It returns the entries that
// had a datagram, moved to the front of ready.
func (in *recvBatch) read(ready []pollEntry) (got []pollEntry) {
	recvBatchReads.Add(1)
	n := 0
	for j, e := range ready {
		in.socks[j] = nil
		if e.s == nil {
			continue
		}
		u := e.s.sock
		if !u.readMu.TryLock() {
			continue
		}
		fd := u.desc()
		if !u.reading || fd < 0 {
			u.readMu.Unlock()
			continue
		}
		in.socks[j] = u
		in.res[j] = -int32(unix.EAGAIN)
		in.out.ring.PrepRecvmsg(n, j, fd, in.message(j))
		n++
	}
	err := in.out.ring.Submit(n, in.res[:len(ready)])
	if err != nil {
		in.out.log.Warn("RTP relay: io_uring failed; reading and sending one system call per packet from now on", "err", err)
		in.out.close()
	}
	now := time.Now().UnixNano()
	got = ready[:0]
	for j, e := range ready {
		u := in.socks[j]
		if u == nil {
			continue
		}
		if err == nil && in.res[j] >= 0 {
			if in.res[j] > 0 {
				arrival := in.stamps[j].unixNano()
				e.s.receive(in.slots[j][:], int(in.res[j]), rawToAddrPort(&in.from[j]), in.out, in.dropLate && tooLate(arrival, now))
				if in.sampleNext && sampleLag(arrival, now) {
					in.sampleNext = false
					batchLagSamples.Add(1)
				}
			}
			got = append(got, e) // j >= len(got): nothing unread is overwritten
		}
		u.readMu.Unlock()
		in.socks[j] = nil
	}
	in.out.flush()
	return got
}

// readAll is read over any number of entries, a submission per
// sendBatchMax of them; it returns those that had a datagram, moved to
// the front of es.
func (in *recvBatch) readAll(es []pollEntry) []pollEntry {
	kept := es[:0]
	for lo := 0; lo < len(es); lo += sendBatchMax {
		got := in.read(es[lo:min(lo+sendBatchMax, len(es))])
		kept = append(kept, got...) // got starts at lo >= len(kept): a forward copy
	}
	return kept
}

// message describes slot j, its source address and its arrival stamp
// for recvmsg.
func (in *recvBatch) message(j int) *unix.Msghdr {
	from := &in.from[j]
	from.Addr.Family = unix.AF_UNSPEC // an address the kernel did not give reads as none
	iov := &in.iovs[j]
	iov.Base = &in.slots[j][0]
	iov.SetLen(maxPacketLen)
	stamp := &in.stamps[j]
	stamp.reset()
	m := &in.msgs[j]
	*m = unix.Msghdr{Name: (*byte)(unsafe.Pointer(from)), Namelen: unix.SizeofSockaddrAny, Iov: iov,
		Control: (*byte)(unsafe.Pointer(stamp))}
	m.SetIovlen(1)
	m.SetControllen(int(unsafe.Sizeof(*stamp)))
	return m
}
