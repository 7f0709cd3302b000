package main

import (
	"golang.org/x/sys/unix"

	"github.com/parkd/parkd/internal/uring"
)

// batchMax is how many reads or sends go to the kernel at once, as
// parkd's relay batches them.
const batchMax = 64

// batchIO moves RTP datagrams for the loop: through io_uring a batch per
// system call where the kernel allows (internal/uring, what parkd's relay
// and music use), else one read(2) or write(2) each.
type batchIO struct {
	ring *uring.Ring // nil: a system call per datagram
	in   [][]byte    // read buffers, one per batch slot
	got  []int32     // what each read returned: bytes, or -errno
	msgs []unix.Msghdr
	iovs []unix.Iovec
	out  int // sends prepared and not yet submitted
	res  []int32
	// err is the ring's failure: what it did of the batch is unknown,
	// and its buffers may still be the kernel's, so the loop stops.
	err error
}

func newBatchIO(useRing bool) *batchIO {
	b := &batchIO{in: make([][]byte, batchMax), got: make([]int32, batchMax), msgs: make([]unix.Msghdr, batchMax),
		iovs: make([]unix.Iovec, batchMax), res: make([]int32, batchMax)}
	for i := range b.in {
		b.in[i] = make([]byte, 2048)
		b.iovs[i].Base = &b.in[i][0]
		b.iovs[i].SetLen(len(b.in[i]))
		b.msgs[i].Iov = &b.iovs[i]
		b.msgs[i].SetIovlen(1)
	}
	if useRing {
		if r, err := uring.New(batchMax); err == nil {
			b.ring = r
		}
	}
	return b
}

// readAll reads one datagram from each of fds (at most batchMax) into
// in[i], and returns what each read gave.
func (b *batchIO) readAll(fds []int) []int32 {
	got := b.got[:len(fds)]
	if b.ring != nil {
		for i, fd := range fds {
			b.msgs[i].Name, b.msgs[i].Namelen, b.msgs[i].Flags = nil, 0, 0
			b.ring.PrepRecvmsg(i, i, fd, &b.msgs[i])
		}
		if err := b.ring.Submit(len(fds), got); err != nil {
			b.err = err
			clear(got) // nothing read
		}
		return got
	}
	for i, fd := range fds {
		n, err := unix.Read(fd, b.in[i])
		if err != nil {
			n = -1
		}
		got[i] = int32(n)
	}
	return got
}

// send queues p for fd's connected peer. p must not change until flush,
// which send calls itself when the batch is full.
func (b *batchIO) send(fd int, p []byte) {
	if b.ring == nil {
		unix.Write(fd, p)
		return
	}
	b.ring.PrepSend(b.out, b.out, fd, p)
	if b.out++; b.out == batchMax {
		b.flush()
	}
}

// queued is how many sends wait for flush: a caller with a buffer per
// batch slot writes the next packet into buffer queued().
func (b *batchIO) queued() int { return b.out }

func (b *batchIO) flush() {
	if b.ring == nil || b.out == 0 {
		return
	}
	if err := b.ring.Submit(b.out, b.res); err != nil {
		b.err = err
	}
	b.out = 0
}

func (b *batchIO) close() {
	if b.ring != nil {
		b.ring.Close()
	}
}
