package mmsg

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/parkd/parkd/internal/kstamp"
)

// Reader reads a UDP socket's datagrams several at a time, with one raw
// recvmmsg(2), and hands them out one by one with the time the kernel
// received each (kstamp.Enable). When a BLF fan-out's thousand 200s are
// queued behind it, a read costs one system call per batch instead of
// one per datagram; with one datagram waiting it costs what recvmsg does.
// Like the batch writer it keeps the P: the socket is non-blocking, and
// an empty queue waits in Go's poller. Not safe for concurrent use.
type Reader struct {
	conn  *net.UDPConn
	rc    syscall.RawConn
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6
	oob   []byte // OOBSize per message
	bufs  [][]byte
	// The datagrams of the last recvmmsg: next is the one Read hands out
	// next, of got.
	got, next int
	// recv is r.recvmmsg, bound once: a closure made per call would be
	// allocated per call.
	recv  func(fd uintptr) bool
	errno syscall.Errno
	late  lateWake
}

// NewReader reads conn batch datagrams at a time, each of at most size
// bytes (a longer one is cut short, as a read into a buffer of size would
// cut it).
func NewReader(conn *net.UDPConn, batch, size int) (*Reader, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &Reader{
		conn:  conn,
		rc:    rc,
		hdrs:  make([]mmsghdr, batch),
		iovs:  make([]unix.Iovec, batch),
		names: make([]unix.RawSockaddrInet6, batch),
		oob:   make([]byte, batch*kstamp.OOBSize),
		bufs:  make([][]byte, batch),
	}
	for i := range r.bufs {
		r.bufs[i] = make([]byte, size)
	}
	r.recv = r.recvmmsg
	return r, nil
}

// Read copies the next datagram into b and says where it came from and
// when it arrived.
func (r *Reader) Read(b []byte) (n int, from netip.AddrPort, at time.Time, err error) {
	for r.next == r.got { // a call that took nothing takes again
		if err := r.fill(); err != nil {
			return 0, netip.AddrPort{}, time.Time{}, err
		}
	}
	i := r.next
	r.next++
	h := &r.hdrs[i]
	n = copy(b, r.bufs[i][:min(int(h.len), len(r.bufs[i]))])
	from = addrPort(&r.names[i], h.hdr.Namelen)
	oob := r.oob[i*kstamp.OOBSize : i*kstamp.OOBSize+int(h.hdr.Controllen)]
	if at, ok := kstamp.FromControl(oob); ok {
		return n, from, at, nil
	}
	return n, from, time.Now(), nil
}

// fill waits for the socket's queue to hold something and takes up to a
// batch of it.
func (r *Reader) fill() error {
	for i := range r.hdrs {
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(len(r.bufs[i]))
		h := &r.hdrs[i]
		*h = mmsghdr{}
		h.hdr.Iov = &r.iovs[i]
		h.hdr.SetIovlen(1)
		h.hdr.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.hdr.Namelen = unix.SizeofSockaddrInet6
		h.hdr.Control = &r.oob[i*kstamp.OOBSize]
		h.hdr.SetControllen(kstamp.OOBSize)
	}
	r.got, r.next, r.errno = 0, 0, 0
	for {
		r.late.beforeWait(r.conn)
		err := r.rc.Read(r.recv)
		if r.late.woke(err) {
			continue
		}
		switch {
		case err != nil:
			return err
		case r.errno != 0:
			return os.NewSyscallError("recvmmsg", r.errno)
		}
		r.noteRead()
		return nil
	}
}

// SetLateWake makes a reader that has read late wait with a deadline of
// every (late_wake.go); 0, the default, waits on Go's poller alone. Call
// it before the first Read; the socket's read deadline is the reader's
// from then on.
func (r *Reader) SetLateWake(every time.Duration) {
	r.late.every, r.late.othersRunnable = every, schedRunnable()
}

// noteRead tells the late wake when the batch just read began to arrive.
func (r *Reader) noteRead() {
	if r.late.every == 0 || r.got == 0 {
		return
	}
	now := time.Now()
	oldest := now
	if at, ok := kstamp.FromControl(r.oob[:r.hdrs[0].hdr.Controllen]); ok {
		oldest = at
	}
	r.late.noteRead(oldest, now)
}

// recvmmsg is the system call, for the socket's RawConn.Read.
func (r *Reader) recvmmsg(fd uintptr) bool {
	n, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)), unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		if e == unix.EAGAIN {
			r.late.noteEmpty()
		}
		return false // wait in Go's poller for input
	}
	if e != 0 {
		r.errno = e
		return true
	}
	r.got = int(n)
	return true
}

// addrPort reads the source address the kernel wrote.
func addrPort(sa *unix.RawSockaddrInet6, n uint32) netip.AddrPort {
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
	switch {
	case sa.Family == unix.AF_INET && n >= unix.SizeofSockaddrInet4:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case sa.Family == unix.AF_INET6 && n >= unix.SizeofSockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), port)
	}
	return netip.AddrPort{}
}
