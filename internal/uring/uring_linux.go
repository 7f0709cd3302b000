package uring

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is an io_uring for datagrams: a batch of sends to (or reads
// from) many sockets goes to the kernel in one system call instead of
// one each. On this project's VM a sendto cost 4–5 µs, most of it
// entering and leaving the kernel; from a ring the same datagram cost
// under half of that (docs/PERFORMANCE.md, seventeenth pass). Every
// operation is MSG_DONTWAIT, so the kernel completes it while the batch
// is submitted: a full send buffer drops the packet, as RTP should, and
// no buffer is left in the kernel's hands after Submit returns.
//
// A ring is used by one goroutine at a time.
type Ring struct {
	fd      int
	entries uint32

	sqTail *uint32
	sqMask uint32
	sqes   []ioSQE

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []ioCQE

	rings, sqeMem []byte // the mappings, for Close
	closeOnce     sync.Once

	// What the prepared entries point to, held until Submit returns: it
	// keeps the memory reachable, and being stored here makes the
	// caller's buffers and messages escape to the heap, which the
	// collector never moves (a stack may move while the kernel holds its
	// address).
	bufs   [][]byte
	msgs   []*unix.Msghdr
	broken error // set by a failed Submit: the ring is not used again
}

// The kernel's ABI (include/uapi/linux/io_uring.h).
const (
	ioringOffSQRing  = 0
	ioringOffSQEs    = 0x10000000
	ioringOpSendmsg  = 9
	ioringOpRecvmsg  = 10
	ioringOpSend     = 26
	ioringEnterWait  = 1 << 0 // IORING_ENTER_GETEVENTS
	ioringSubmitAll  = 1 << 7 // IORING_SETUP_SUBMIT_ALL (5.18): one bad send does not stop the rest
	ioringCoopTask   = 1 << 8 // IORING_SETUP_COOP_TASKRUN (5.19): no interrupt to post a completion
	ioringFeatSingle = 1 << 0 // IORING_FEAT_SINGLE_MMAP
	ioringProbe      = 8      // IORING_REGISTER_PROBE
	ioringOpUsable   = 1 << 0 // IO_URING_OP_SUPPORTED
)

type ioSQOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type ioCQOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type ioParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sq                                                                     ioSQOffsets
	cq                                                                     ioCQOffsets
}

type ioSQE struct {
	opcode, flags  uint8
	ioprio         uint16
	fd             int32
	off, addr      uint64
	len, opFlags   uint32
	userData       uint64
	bufIndex, pers uint16
	spliceFD       int32
	addr3, pad     uint64
}

type ioCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

type ioProbe struct {
	lastOp, opsLen uint8
	resv           uint16
	resv2          [3]uint32
	ops            [256]ioProbeOp
}

type ioProbeOp struct {
	op, resv uint8
	flags    uint16
	resv2    uint32
}

// Compile-time checks of the layouts the kernel reads.
var (
	_ [64 - unsafe.Sizeof(ioSQE{})]struct{}
	_ [unsafe.Sizeof(ioSQE{}) - 64]struct{}
	_ [16 - unsafe.Sizeof(ioCQE{})]struct{}
	_ [120 - unsafe.Sizeof(ioParams{})]struct{}
	_ [unsafe.Sizeof(ioParams{}) - 120]struct{}
)

// ErrUnusable is what New returns where io_uring cannot serve: the
// caller sends and reads one system call per datagram instead.
var ErrUnusable = errors.New("io_uring cannot move datagrams here")

// New makes a ring for batches of up to entries operations. It fails
// with ErrUnusable where io_uring is missing, forbidden (a container's
// seccomp profile, kernel.io_uring_disabled) or too old.
func New(entries uint32) (*Ring, error) {
	var p ioParams
	fd := -1
	for _, flags := range []uint32{ioringSubmitAll | ioringCoopTask, ioringSubmitAll} {
		p = ioParams{flags: flags}
		r, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
		if errno == 0 {
			fd = int(r)
			break
		}
		if errno != unix.EINVAL {
			return nil, fmt.Errorf("%w: io_uring_setup: %w", ErrUnusable, errno)
		}
	}
	if fd < 0 {
		return nil, fmt.Errorf("%w: io_uring_setup: the kernel is older than 5.18", ErrUnusable)
	}
	unix.CloseOnExec(fd)
	r := &Ring{fd: fd, entries: p.sqEntries, bufs: make([][]byte, p.sqEntries), msgs: make([]*unix.Msghdr, p.sqEntries)}
	if err := r.mapRings(&p); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.probe(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Ring) mapRings(p *ioParams) error {
	if p.features&ioringFeatSingle == 0 {
		return fmt.Errorf("%w: the kernel is older than 5.4", ErrUnusable)
	}
	size := max(uintptr(p.sq.array)+uintptr(p.sqEntries)*4, uintptr(p.cq.cqes)+uintptr(p.cqEntries)*unsafe.Sizeof(ioCQE{}))
	rings, err := unix.Mmap(r.fd, ioringOffSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("%w: mapping the rings: %w", ErrUnusable, err)
	}
	r.rings = rings
	sqes, err := unix.Mmap(r.fd, ioringOffSQEs, int(uintptr(p.sqEntries)*unsafe.Sizeof(ioSQE{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("%w: mapping the submission entries: %w", ErrUnusable, err)
	}
	r.sqeMem = sqes
	base := unsafe.Pointer(&rings[0])
	at := func(off uint32) *uint32 { return (*uint32)(unsafe.Add(base, off)) }
	r.sqTail = at(p.sq.tail)
	r.sqMask = *at(p.sq.ringMask)
	r.sqes = unsafe.Slice((*ioSQE)(unsafe.Pointer(&sqes[0])), p.sqEntries)
	r.cqHead, r.cqTail = at(p.cq.head), at(p.cq.tail)
	r.cqMask = *at(p.cq.ringMask)
	r.cqes = unsafe.Slice((*ioCQE)(unsafe.Add(base, p.cq.cqes)), p.cqEntries)
	// Entry i of the submission queue is always SQE i: batches are
	// written from the start of the ring and wholly consumed by Submit.
	array := unsafe.Slice(at(p.sq.array), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	return nil
}

// probe checks that the kernel knows the operations used (5.6).
func (r *Ring) probe() error {
	var pr ioProbe
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), ioringProbe, uintptr(unsafe.Pointer(&pr)), uintptr(len(pr.ops)), 0, 0)
	if errno != 0 {
		return fmt.Errorf("%w: probing its operations: %w", ErrUnusable, errno)
	}
	for _, op := range []uint8{ioringOpSend, ioringOpSendmsg, ioringOpRecvmsg} {
		if int(op) > int(pr.lastOp) || pr.ops[op].flags&ioringOpUsable == 0 {
			return fmt.Errorf("%w: no operation %d", ErrUnusable, op)
		}
	}
	return nil
}

// Close releases the ring; later calls do nothing, so a cleanup may call
// it after its owner did.
func (r *Ring) Close() {
	r.closeOnce.Do(func() {
		if r.sqeMem != nil {
			unix.Munmap(r.sqeMem)
		}
		if r.rings != nil {
			unix.Munmap(r.rings)
		}
		unix.Close(r.fd)
	})
}

// prep fills the submission's entry slot with one operation on fd, its
// completion tagged tag.
func (r *Ring) prep(slot, tag int, op uint8, fd int, addr unsafe.Pointer, n uint32, flags uint32) {
	e := &r.sqes[(atomic.LoadUint32(r.sqTail)+uint32(slot))&r.sqMask]
	*e = ioSQE{
		opcode:   op,
		fd:       int32(fd),
		addr:     uint64(uintptr(addr)),
		len:      n,
		opFlags:  flags,
		userData: uint64(tag),
	}
}

// PrepSend fills the submission's entry slot: b to fd's connected peer,
// its completion tagged tag. b must not change until Submit returns.
func (r *Ring) PrepSend(slot, tag int, fd int, b []byte) {
	r.bufs[slot] = b
	r.prep(slot, tag, ioringOpSend, fd, unsafe.Pointer(&b[0]), uint32(len(b)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
}

// PrepSendmsg fills the submission's entry slot: the message m describes
// (its address and one buffer), its completion tagged tag. m and what it
// points to must not change until Submit returns.
func (r *Ring) PrepSendmsg(slot, tag int, fd int, m *unix.Msghdr) {
	r.msgs[slot] = m
	r.prep(slot, tag, ioringOpSendmsg, fd, unsafe.Pointer(m), 1, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
}

// PrepRecvmsg fills the submission's entry slot: one datagram from fd
// into what m describes, its completion tagged tag. Like the sends it
// does not wait: an empty socket completes with -EAGAIN. The kernel
// writes what m points to until Submit returns.
func (r *Ring) PrepRecvmsg(slot, tag int, fd int, m *unix.Msghdr) {
	r.msgs[slot] = m
	r.prep(slot, tag, ioringOpRecvmsg, fd, unsafe.Pointer(m), 1, unix.MSG_DONTWAIT)
}

// Submit hands slots 0..n-1 to the kernel and stores each one's result
// (bytes sent, or -errno) in res[tag]. It returns once all n are
// complete, so the buffers are the caller's again. An error is the
// ring's own (not one operation's): what it did of the batch is unknown,
// and every later Submit fails too; close the ring and do without.
func (r *Ring) Submit(n int, res []int32) error {
	if r.broken != nil {
		return r.broken
	}
	if n == 0 {
		return nil
	}
	defer r.unpin(n)
	tail := atomic.LoadUint32(r.sqTail)
	atomic.StoreUint32(r.sqTail, tail+uint32(n)) // publishes the entries
	for left, busy := n, 0; left > 0; {
		// Cannot block: no waiting asked for, and every operation is
		// non-blocking. Raw, so the runtime need not hand the P to
		// another thread for a few microseconds in the kernel.
		got, _, errno := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(left), 0, 0, 0, 0)
		switch {
		case errno == unix.EINTR:
			continue
		case (errno == unix.EAGAIN || errno == unix.EBUSY) && busy < maxBusy:
			busy++ // the kernel short of memory for a moment
			continue
		case errno != 0:
			return r.fail(fmt.Errorf("io_uring_enter: %w", errno))
		}
		left -= int(got)
	}
	for done := 0; done < n; {
		head, tail := atomic.LoadUint32(r.cqHead), atomic.LoadUint32(r.cqTail)
		for ; head != tail; head++ {
			c := &r.cqes[head&r.cqMask]
			if c.userData < uint64(len(res)) {
				res[c.userData] = c.res
			}
			done++
		}
		atomic.StoreUint32(r.cqHead, head)
		if done < n {
			// An operation the kernel could not finish inline (none
			// should): wait for it, letting the runtime use the P
			// meanwhile. Until it is done the kernel may still use the
			// buffers, so only an error of the ring itself ends the wait.
			_, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 0, uintptr(n-done), ioringEnterWait, 0, 0)
			if errno != 0 && errno != unix.EINTR && errno != unix.EAGAIN && errno != unix.EBUSY {
				return r.fail(fmt.Errorf("io_uring_enter: %w", errno))
			}
		}
	}
	return nil
}

// maxBusy bounds the retries of a submission the kernel refuses for the
// moment (EAGAIN, EBUSY), so a ring that keeps refusing fails instead of
// spinning.
const maxBusy = 16

func (r *Ring) fail(err error) error {
	r.broken = err
	return err
}

// unpin lets go of what the submission's entries pointed to.
func (r *Ring) unpin(n int) {
	clear(r.bufs[:n])
	clear(r.msgs[:n])
}

// Err turns a completion's negative result into its error (nil for a
// result of 0 or more).
func Err(res int32) error {
	if res >= 0 {
		return nil
	}
	return syscall.Errno(-res)
}
