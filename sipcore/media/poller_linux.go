package media

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

var errSocketClosed = errors.New("media: RTP socket closed")

// pollBatch is how many ready sockets one epoll_wait hands over.
const pollBatch = 128

// pollers read the RTP of bridged sessions, whose packets must be relayed
// the moment they come (the rest are swept: quiet_linux.go): one epoll set
// per CPU, each waited on by one goroutine that reads one datagram per
// ready socket and handles it on the spot (latch, DTMF, relay to the
// bridged leg). Compared with a goroutine per session blocked in Go's
// poller this saves the goroutine (its stack is a third of a parked call's
// memory), the wake-up and switch per packet and the read that only finds
// the socket empty.
var pollers pollerSet

type pollerSet struct {
	once sync.Once
	err  error
	list []*poller
	next atomic.Uint32
}

// pollSlot names a socket in a poller: its index in the table and the
// table entry's generation, both carried in the epoll event so an event
// that was already queued for a socket since removed finds nothing.
type pollSlot struct {
	index int32
	gen   int32
}

type poller struct {
	epfd int
	file *os.File // keeps epfd open and registered with Go's poller
	raw  syscall.RawConn

	mu      sync.RWMutex
	entries []pollEntry
	free    []int32

	lag lagProbe // run's goroutine only
}

// pollEntry is a watched session (its socket is s.sock).
type pollEntry struct {
	s   *Session
	gen int32
}

// startReaders starts the pollers once (NewAllocator calls it).
func startReaders() error {
	pollers.once.Do(pollers.start)
	return pollers.err
}

// addLocked watches u for input; u.readMu held, u not closed.
func (ps *pollerSet) addLocked(u *udpSocket, s *Session) error {
	if refuseEpollAdd.Load() {
		return fmt.Errorf("media: cannot watch the RTP socket: %w", unix.ENOSPC)
	}
	p := ps.list[int(ps.next.Add(1))%len(ps.list)]
	slot := p.insert(s)
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: slot.index, Pad: slot.gen}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, u.desc(), &ev); err != nil {
		p.release(slot)
		return fmt.Errorf("media: cannot watch the RTP socket: %w", err)
	}
	u.poller, u.slot = p, slot
	return nil
}

// refuseEpollAdd makes every socket's move to a poller fail, as when
// fs.epoll.max_user_watches is reached, for tests of the sweep that
// reads such a socket instead.
var refuseEpollAdd atomic.Bool

func (ps *pollerSet) start() {
	for range max(1, runtime.GOMAXPROCS(0)) {
		p, err := newPoller()
		if err != nil {
			ps.err = err
			return
		}
		ps.list = append(ps.list, p)
		go p.run()
	}
}

// newPoller makes an epoll set and hands its descriptor to Go's network
// poller, which wakes run when any socket in the set has input: the
// goroutine parks like any other reader instead of holding a thread and
// its P in epoll_wait, where the rest of parkd (SIP) could wait for the
// runtime to notice (up to 10 ms; a loadgen p99 of 62 ms at 400 pairs/s
// on one core).
func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("media: epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("media: epoll set: %w", err)
	}
	f := os.NewFile(uintptr(epfd), "rtp-epoll")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("media: epoll set: %w", err)
	}
	return &poller{epfd: epfd, file: f, raw: raw}, nil
}

func (p *poller) insert(s *Session) pollSlot {
	p.mu.Lock()
	defer p.mu.Unlock()
	var i int32
	if n := len(p.free); n > 0 {
		i = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		i = int32(len(p.entries))
		p.entries = append(p.entries, pollEntry{})
	}
	e := &p.entries[i]
	e.s = s
	return pollSlot{index: i, gen: e.gen}
}

func (p *poller) release(slot pollSlot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := &p.entries[slot.index]
	if e.gen != slot.gen {
		return
	}
	e.s = nil
	e.gen++
	p.free = append(p.free, slot.index)
}

// remove stops watching fd. The caller has already cleared reading, so a
// batch that picked the socket up before this will skip it.
func (p *poller) remove(fd int, slot pollSlot) {
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	p.release(slot)
}

// run reads input forever: the pollers live as long as the process, as
// Go's own network poller does. Each time the set has input it is drained
// with non-blocking epoll_waits until one comes back empty, so the edge
// Go's poller waits for comes again with the next datagram. Sockets are
// level-triggered, one datagram per ready socket per round: a socket with
// more queued is simply ready again, and no read is spent finding a
// socket empty.
func (p *poller) run() {
	events := make([]unix.EpollEvent, pollBatch)
	ready := make([]pollEntry, pollBatch)
	out := newSendBatch(slog.Default(), maxPacketLen)
	in := newRecvBatch(out, true)
	drain := func(fd uintptr) bool {
		for {
			n, err := epollWaitNow(int(fd), events)
			if err == unix.EINTR {
				continue
			}
			if n <= 0 {
				return false // empty: wait for Go's poller to say there is more
			}
			p.handle(events[:n], ready, in, out)
			// Under steady RTP the set is never empty, and this loop would
			// keep its P until the runtime preempts it (10 ms): SIP on a
			// one-core parkd waited that long (loadgen p99 55 ms). Let
			// whatever else is runnable go first.
			runtime.Gosched()
		}
	}
	for {
		if err := p.raw.Read(drain); err != nil {
			panic("media: RTP epoll set failed: " + err.Error()) // it is never closed
		}
	}
}

// epollWaitNow collects the ready events without waiting: a raw system
// call, since one that cannot block need not hand the P to another thread
// (see udpSocket.write).
func epollWaitNow(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// handle reads and handles one datagram from each ready socket, and
// sends what they relay: through in and out's ring, sendBatchMax sockets
// per submission, when there is one and more than one socket is ready;
// else one read each, into out's next slot, and what is relayed sent with
// the others when the round is done (or the batch full).
func (p *poller) handle(events []unix.EpollEvent, ready []pollEntry, in *recvBatch, out *sendBatch) {
	ready = ready[:len(events)]
	p.mu.RLock()
	for i, ev := range events {
		if ev.Fd >= 0 && int(ev.Fd) < len(p.entries) && p.entries[ev.Fd].gen == ev.Pad {
			ready[i] = p.entries[ev.Fd]
		}
	}
	p.mu.RUnlock()
	now := time.Now()
	sample := p.lag.due(now)
	if len(ready) > 1 && in.usable() {
		in.sampleNext = sample
		in.readAll(ready)
		if sample && !in.sampleNext {
			p.lag.taken(now)
		}
		in.sampleNext = false
		clear(ready)
		return
	}
	for i := range ready {
		prefetchRelay(ready, i)
		if s := ready[i].s; s != nil {
			if out.full() {
				out.flush() // with no session's lock held: see sendFailed
			}
			if s.sock.readRelayed(s, out.next(), out, sample) && sample {
				p.lag.taken(now)
				sample = false
			}
		}
		ready[i] = pollEntry{}
	}
	out.flush()
}

// prefetchRelay starts fetching what relaying the packets of ready's next
// sessions will read, while the current one's system calls run: each
// object's address is in the one before it (the session; its socket, peer
// state and bridge; the other leg; its peer state and socket), so each
// step reaches one further ahead. See sendFrames for music's version.
func prefetchRelay(ready []pollEntry, i int) {
	if i+4 < len(ready) {
		prefetch(unsafe.Pointer(ready[i+4].s))
	}
	if i+3 < len(ready) {
		if s := ready[i+3].s; s != nil {
			prefetch(unsafe.Pointer(s.sock))
			prefetch(unsafe.Pointer(s.peer.Load()))
			prefetch(unsafe.Pointer(s.link.Load()))
		}
	}
	if i+2 < len(ready) {
		if s := ready[i+2].s; s != nil {
			if l := s.link.Load(); l != nil {
				prefetch(unsafe.Pointer(l.to))
			}
		}
	}
	if i+1 < len(ready) {
		if s := ready[i+1].s; s != nil {
			if l := s.link.Load(); l != nil {
				prefetch(unsafe.Pointer(l.to.peer.Load()))
				prefetch(unsafe.Pointer(l.to.sock))
			}
		}
	}
}

// readOne reads a datagram and handles it, unless the socket is closing;
// false when there was none. Errors are those a datagram socket reports
// once (a peer's ICMP error on a connected socket) or a spurious wake-up
// (EAGAIN): the next round reads on. For the quiet sweep: what it reads
// is relayed however late, as a socket it reads waits for it by design.
func (u *udpSocket) readOne(s *Session, buf []byte) bool {
	u.readMu.Lock()
	defer u.readMu.Unlock()
	return u.readOneLocked(s, buf, nil)
}

// readRelayed is readOne for a poller: it reads the datagram with its
// arrival stamp, and relays it in out's batch (nil: at once) unless it
// came too late (relay_late.go). With sample, the datagram read is a
// sample of the relay's lag (relay_lag.go).
func (u *udpSocket) readRelayed(s *Session, buf []byte, out *sendBatch, sample bool) bool {
	u.readMu.Lock()
	defer u.readMu.Unlock()
	if !u.reading {
		return false
	}
	var stamp arrivalStamp
	n, src, err := u.readStamped(buf, &stamp)
	if err != nil {
		return false
	}
	now := time.Now().UnixNano()
	arrival := stamp.unixNano()
	s.receive(buf, n, src, out, tooLate(arrival, now))
	if sample {
		sampleLag(arrival, now)
	}
	return true
}

// readOneLocked is readOne with readMu held.
func (u *udpSocket) readOneLocked(s *Session, buf []byte, out *sendBatch) bool {
	if !u.reading {
		return false
	}
	n, src, err := u.readFrom(buf)
	if err != nil {
		return false
	}
	s.receive(buf, n, src, out, false)
	return true
}
