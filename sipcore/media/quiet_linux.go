package media

import (
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// quietSweep is how often each quiet socket is read. Its input (the
// latch, a key pressed, the RTP timeout) can wait that long; a bridged
// session's cannot, and is read by a poller the moment it arrives (see
// setRelaying).
const quietSweep = 100 * time.Millisecond

// quietSlices spreads a sweep over that many music frames, a slice of the
// sockets per frame, so that reading what a few thousand callers sent in
// quietSweep does not hold a P for milliseconds at once (the music's own
// sends must go out on time).
const quietSlices = int(quietSweep / frameDuration)

// quietRounds bounds the datagrams read from one quiet socket per sweep:
// a phone sends five to ten per quietSweep, and a flood beyond this many
// is left for the kernel to drop once the socket's buffer fills.
const quietRounds = 16

// quiet reads the sockets of sessions that are not bridged: parked callers
// hearing music or a prompt, and calls waiting for something to happen.
// They are kept out of the pollers' epoll sets because a socket watched
// by epoll pays on every datagram it sends: freeing the datagram walks
// the socket's wait queue to the epoll entry with interrupts off, which
// bench/moh measured at 10–25 % over the kernel's floor (-mode
// epoll-floor against floor) — most of what the music cost beyond it.
// Instead one goroutine asks the kernel, a slice of them every frame, in
// one poll(2) that registers no waiter, which have input, and reads those
// one datagram per socket per round, as a poller does.
var quiet quietSet

type quietSet struct {
	mu      sync.Mutex
	members []quietMember
	running bool // the sweeping goroutine runs; it exits when members empties
	// in reads a sweep's sockets through io_uring (nil without it). Only
	// the sweeping goroutine uses it; kept between runs, as a ring set up
	// whenever the first call parks would cost more than it saves.
	in *recvBatch
}

type quietMember struct {
	u *udpSocket
	s *Session
}

// add makes u one of the swept sockets; u.readMu held.
func (q *quietSet) add(u *udpSocket, s *Session) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if u.quietAt >= 0 {
		return
	}
	u.quietAt = len(q.members)
	q.members = append(q.members, quietMember{u: u, s: s})
	if !q.running {
		q.running = true
		go q.run()
	}
}

// remove stops sweeping u; u.readMu held. A sweep that already took u in
// its snapshot reads it only if it is still reading (readOne checks).
func (q *quietSet) remove(u *udpSocket) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i := u.quietAt
	if i < 0 {
		return
	}
	last := len(q.members) - 1
	if i != last {
		q.members[i] = q.members[last]
		q.members[i].u.quietAt = i
	}
	q.members[last] = quietMember{}
	q.members = q.members[:last]
	u.quietAt = -1
}

// snapshot copies the members into buf; nil (and the sweeper stops) when
// there are none.
func (q *quietSet) snapshot(buf []quietMember) []quietMember {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.members) == 0 {
		q.running = false
		return nil
	}
	return append(buf, q.members...)
}

func (q *quietSet) run() {
	tick := time.NewTicker(frameDuration)
	defer tick.Stop()
	var (
		members []quietMember
		fds     []unix.PollFd
		ready   []quietMember
		entries []pollEntry
		buf     = make([]byte, maxPacketLen)
	)
	if q.in == nil {
		q.in = newRecvBatch(newSendBatch(slog.Default(), 0), false)
	}
	for slice := 0; ; slice = (slice + 1) % quietSlices {
		<-tick.C
		members = q.snapshot(members[:0])
		if members == nil {
			return
		}
		// Members move when others leave (see remove), so a socket may now
		// and then wait a slice more or less than quietSweep.
		part := members[slice*len(members)/quietSlices : (slice+1)*len(members)/quietSlices]
		fds = fds[:0]
		for _, m := range part {
			// A socket closed since the snapshot shows as -1, which poll skips.
			fds = append(fds, unix.PollFd{Fd: int32(m.u.desc()), Events: unix.POLLIN})
		}
		if n, err := unix.Poll(fds, 0); err != nil || n == 0 {
			continue
		}
		ready = ready[:0]
		for i, fd := range fds {
			if fd.Revents != 0 {
				ready = append(ready, part[i])
			}
		}
		if len(ready) > 1 && q.in.usable() {
			entries = q.sweepBatched(ready, entries[:0])
			continue
		}
		sweep(ready, buf)
	}
}

// sweepBatched is sweep through io_uring: each round reads one datagram
// from every socket still in it with a submission per sendBatchMax of
// them, where sweep makes a system call per datagram and one more per
// socket to find it empty. It returns entries for reuse.
func (q *quietSet) sweepBatched(ready []quietMember, entries []pollEntry) []pollEntry {
	for _, m := range ready {
		entries = append(entries, pollEntry{s: m.s})
	}
	left := entries
	for range quietRounds {
		if left = q.in.readAll(left); len(left) == 0 {
			break
		}
	}
	clear(entries) // do not keep closed sessions reachable
	return entries
}

// sweep reads one datagram from each ready socket per round, so a flooded
// port delays the others by one read, not by its whole queue; a socket
// leaves the round once it is empty.
func sweep(ready []quietMember, buf []byte) {
	for range quietRounds {
		kept := ready[:0]
		for _, m := range ready {
			if m.u.readOne(m.s, buf) {
				kept = append(kept, m)
			}
		}
		if len(kept) == 0 {
			return
		}
		ready = kept
	}
}
