package media

import (
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/parkd/parkd/internal/uring"
)

// sendBatchMax is how many packets one submission carries: enough that
// entering the kernel is a small share of the batch, few enough that a
// batch of music (about 19 KiB) stays in the CPU's cache.
const sendBatchMax = 64

// sendBatch gathers one goroutine's outgoing packets (music, relayed
// audio) and sends them to the kernel together through an io_uring
// (internal/uring). Each
// packet is written in one of the batch's slots (next) and stays there
// until the batch is flushed. Without a ring (io_uring missing or
// forbidden) add refuses every packet and each is sent at once, as before.
// A nil batch is one without a ring.
//
// A packet waits in the batch for at most sendBatchMax-1 others. The
// socket's descriptor and the stream's generation and sending state are
// read when the batch is submitted, not when the packet was queued: a
// session closed in between has given its descriptor up (-1), and one
// whose stream changed feeder (a bridge, a close) or stopped (a hold) no
// longer wants the packet, so neither is sent. Between that check and
// the kernel's send, batchesInFlight is read-locked, and takeOwner and
// setSending wait for it (waitForBatches): once they return, no packet
// of the old state can go out, on the old peer or, after Close hands the
// descriptor on, on another call's socket.
type sendBatch struct {
	ring    *uring.Ring
	log     *slog.Logger
	n       int
	slotLen int
	slots   []byte // sendBatchMax slots of slotLen bytes

	ents  [sendBatchMax]batchEntry
	msgs  [sendBatchMax]unix.Msghdr
	iovs  [sendBatchMax]unix.Iovec
	addrs [sendBatchMax]unix.RawSockaddrInet6
	res   [sendBatchMax]int32
}

type batchEntry struct {
	s      *Session
	gen    uint64
	pkt    []byte         // in the slot it was written in
	to     netip.AddrPort // valid: send by address (the socket is not connected)
	fd     int            // read at flush
	queued bool           // still wanted at flush, so sent
}

// batchesInFlight is read-locked by each flush from its checks until the
// kernel has sent its packets (see sendBatch).
var batchesInFlight sync.RWMutex

// waitForBatches returns once every flush in progress is done.
func waitForBatches() {
	batchesInFlight.Lock()
	batchesInFlight.Unlock() // empty: only the waiting matters
}

// noSendRing makes every new batch send without io_uring (tests of the
// fallback, and comparing the two).
var noSendRing atomic.Bool

var ringUnusableOnce sync.Once

// newSendBatch makes a batch for packets of up to slotLen bytes, with a
// ring when the kernel allows one.
func newSendBatch(log *slog.Logger, slotLen int) *sendBatch {
	b := &sendBatch{log: log, slotLen: slotLen}
	if noSendRing.Load() {
		b.slots = make([]byte, slotLen)
		return b
	}
	r, err := uring.New(sendBatchMax)
	if err != nil {
		ringUnusableOnce.Do(func() {
			log.Info("RTP goes out one system call per packet", "reason", err)
		})
		b.slots = make([]byte, slotLen)
		return b
	}
	b.ring = r
	b.slots = make([]byte, sendBatchMax*slotLen)
	// A batch made for tick (tests, benchmarks) is never closed by a Run;
	// close is idempotent, so the cleanup after an explicit close is a no-op.
	runtime.AddCleanup(b, func(r *uring.Ring) { r.Close() }, r)
	return b
}

// close releases the ring; the batch then sends without it.
func (b *sendBatch) close() {
	if b.ring != nil {
		b.ring.Close()
		b.ring = nil
	}
}

// next is the slot the next packet is written in: a slot a packet was
// written in but not added to the batch is handed out again.
func (b *sendBatch) next() []byte {
	if b.ring == nil {
		return b.slots[:b.slotLen:b.slotLen]
	}
	off := b.n * b.slotLen
	return b.slots[off : off+b.slotLen : off+b.slotLen]
}

func (b *sendBatch) full() bool { return b != nil && b.n == sendBatchMax }

// add queues pkt, written in the slot next gave, for s's peer, and
// reports whether it did; false means the caller sends it now. s.out.mu
// held.
func (b *sendBatch) add(s *Session, gen uint64, peer *peerState, pkt []byte) bool {
	if b == nil || b.ring == nil || b.n == sendBatchMax || noSendRing.Load() {
		return false
	}
	e := &b.ents[b.n]
	e.s, e.gen, e.pkt, e.to = s, gen, pkt, netip.AddrPort{}
	if !peer.connected {
		if peer.target.Addr().Is4() != s.local.Addr().Is4() {
			return false // writeTo reports the mismatch
		}
		e.to = peer.target
	}
	b.n++
	return true
}

// flush sends what is queued and handles what failed.
func (b *sendBatch) flush() {
	if b == nil || b.n == 0 {
		return
	}
	batchesInFlight.RLock()
	live, last := 0, 0
	for i := range b.n {
		e := &b.ents[i]
		o := &e.s.out
		e.fd = e.s.sock.desc()
		e.queued = e.fd >= 0 && o.gen.Load() == e.gen && o.sending.Load()
		if e.queued {
			live, last = live+1, i
		}
	}
	switch {
	case live == 1:
		b.sendOne(last) // a ring's entry costs more than one write
	case live > 1:
		b.submit()
	}
	batchesInFlight.RUnlock()
	for i := range b.n {
		e := &b.ents[i]
		switch {
		case !e.queued:
		case b.res[i] >= 0:
			e.s.out.sent.Add(1)
		default:
			e.s.sendFailed(e.gen, e.pkt, !e.to.IsValid(), uring.Err(b.res[i]))
		}
		*e = batchEntry{} // let the session go
	}
	b.n = 0
}

// submit hands the queued packets to the ring.
func (b *sendBatch) submit() {
	slots := 0
	for i := range b.n {
		e := &b.ents[i]
		if !e.queued {
			continue
		}
		b.res[i] = 0
		if !e.to.IsValid() {
			b.ring.PrepSend(slots, i, e.fd, e.pkt)
		} else {
			b.ring.PrepSendmsg(slots, i, e.fd, b.message(i, e.pkt, e.to))
		}
		slots++
	}
	if err := b.ring.Submit(slots, b.res[:b.n]); err != nil {
		// The ring itself failed (not a send): what it did is unknown, so
		// this batch counts as lost and the next go one by one.
		b.log.Warn("RTP: io_uring failed; sending one system call per packet from now on", "err", err)
		b.close()
		for i := range b.n {
			b.ents[i].queued = false
		}
	}
}

// sendOne sends entry i with a plain system call, storing its result as
// the ring would.
func (b *sendBatch) sendOne(i int) {
	e := &b.ents[i]
	var err error
	if !e.to.IsValid() {
		err = e.s.sock.write(e.pkt)
	} else {
		err = e.s.sock.writeTo(e.pkt, e.to)
	}
	b.res[i] = 0
	if errno, ok := err.(unix.Errno); ok {
		b.res[i] = -int32(errno)
	} else if err != nil {
		b.res[i] = -int32(unix.EIO)
	}
}

// message describes pkt to `to` for sendmsg, in entry i's own storage.
func (b *sendBatch) message(i int, pkt []byte, to netip.AddrPort) *unix.Msghdr {
	sa := &b.addrs[i]
	var saLen uint32
	if to.Addr().Is4() {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: to.Addr().As4()}
		putPort(&sa4.Port, to.Port())
		saLen = unix.SizeofSockaddrInet4
	} else {
		*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: to.Addr().As16()}
		putPort(&sa.Port, to.Port())
		saLen = unix.SizeofSockaddrInet6
	}
	iov := &b.iovs[i]
	iov.Base = &pkt[0]
	iov.SetLen(len(pkt))
	m := &b.msgs[i]
	*m = unix.Msghdr{Name: (*byte)(unsafe.Pointer(sa)), Namelen: saLen, Iov: iov}
	m.SetIovlen(1)
	return m
}
