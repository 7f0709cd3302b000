package mmsg

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// rawWriter is sendmmsg(2) made as a raw system call on a socket Go
// keeps non-blocking. Through x/net the call enters the runtime's
// system-call state, and a 64-message batch takes a few hundred
// microseconds there: long enough for the runtime's monitor thread to
// hand the P to another thread, and every such hand-off keeps the monitor
// waking every 20 µs. On a parkd given one core that was 15 % of its CPU
// during a BLF fan-out to 1,000 watchers, taken from the fan-out itself.
// A raw call keeps the P; it cannot block, and a full send buffer
// (EAGAIN) waits in Go's poller like any write.
type rawWriter struct {
	rc    syscall.RawConn
	inet6 bool // the socket's family: addresses are written in it
	// The fan-out's goroutines share the writer, each with a scratch of
	// its own for the duration of a call.
	scratch sync.Pool // *mmsgScratch
}

// mmsgScratch is the headers of one sendmmsg call, and its results.
type mmsgScratch struct {
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // room for either family
	n     int                     // messages to send
	flags int
	sent  int
	errno syscall.Errno
	// send is sc.sendmmsg, bound once: a closure made per call would be
	// allocated per call.
	send func(fd uintptr) bool
}

// mmsghdr is struct mmsghdr: a msghdr and the byte count the kernel sent.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// NewWriter returns conn's batch writer: the raw one, unless conn gives no
// access to its descriptor.
func NewWriter(conn *net.UDPConn) Writer {
	rc, err := conn.SyscallConn()
	if err != nil {
		return ipv4.NewPacketConn(conn) // not a socket Go opened: x/net's way
	}
	a, _ := conn.LocalAddr().(*net.UDPAddr)
	return &rawWriter{rc: rc, inet6: a == nil || a.IP.To4() == nil}
}

// WriteBatch sends ms as sendmmsg does: the count sent, which may stop
// short of len(ms) without an error; an error only when none was sent.
func (w *rawWriter) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	if len(ms) == 0 {
		return 0, nil
	}
	sc, _ := w.scratch.Get().(*mmsgScratch)
	if sc == nil {
		sc = &mmsgScratch{}
		sc.send = sc.sendmmsg
	}
	defer w.scratch.Put(sc)
	if err := sc.prepare(ms, w.inet6); err != nil {
		return 0, err
	}
	sc.n, sc.flags, sc.sent, sc.errno = len(ms), flags, 0, 0
	err := w.rc.Write(sc.send)
	clear(sc.iovs) // let the messages' bytes go
	switch {
	case err != nil:
		return 0, err
	case sc.errno != 0:
		return 0, os.NewSyscallError("sendmmsg", sc.errno)
	}
	return sc.sent, nil
}

// sendmmsg is the system call, for the socket's RawConn.Write.
func (sc *mmsgScratch) sendmmsg(fd uintptr) bool {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&sc.hdrs[0])), uintptr(sc.n), uintptr(sc.flags), 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false // wait until the socket can take more
	}
	if e != 0 {
		sc.errno = e
		return true
	}
	sc.sent = int(r)
	return true
}

// prepare fills the headers for ms, growing the arrays as needed.
func (sc *mmsgScratch) prepare(ms []ipv4.Message, inet6 bool) error {
	niov := 0
	for _, m := range ms {
		niov += len(m.Buffers)
	}
	if cap(sc.hdrs) < len(ms) {
		sc.hdrs = make([]mmsghdr, len(ms))
		sc.names = make([]unix.RawSockaddrInet6, len(ms))
	}
	if cap(sc.iovs) < niov {
		sc.iovs = make([]unix.Iovec, niov)
	}
	sc.hdrs, sc.names, sc.iovs = sc.hdrs[:len(ms)], sc.names[:len(ms)], sc.iovs[:niov]
	iov := 0
	for i, m := range ms {
		first := iov
		for _, b := range m.Buffers {
			if len(b) > 0 {
				sc.iovs[iov].Base = &b[0]
				sc.iovs[iov].SetLen(len(b))
				iov++
			}
		}
		h := &sc.hdrs[i]
		*h = mmsghdr{}
		if iov > first {
			h.hdr.Iov = &sc.iovs[first]
			h.hdr.SetIovlen(iov - first)
		}
		addr, ok := m.Addr.(*net.UDPAddr)
		if !ok || addr == nil {
			return errors.New("sendmmsg: a message without a UDP address")
		}
		n, err := putName(&sc.names[i], addr, inet6)
		if err != nil {
			return err
		}
		h.hdr.Name = (*byte)(unsafe.Pointer(&sc.names[i]))
		h.hdr.Namelen = n
	}
	return nil
}

// putName writes addr as a sockaddr of the socket's family.
func putName(sa *unix.RawSockaddrInet6, addr *net.UDPAddr, inet6 bool) (uint32, error) {
	var port [2]byte
	binary.BigEndian.PutUint16(port[:], uint16(addr.Port))
	if !inet6 {
		ip4 := addr.IP.To4()
		if ip4 == nil {
			return 0, errors.New("sendmmsg: an IPv6 address on an IPv4 socket")
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET}
		copy((*[2]byte)(unsafe.Pointer(&sa4.Port))[:], port[:])
		copy(sa4.Addr[:], ip4)
		return unix.SizeofSockaddrInet4, nil
	}
	ip16 := addr.IP.To16()
	if ip16 == nil {
		return 0, errors.New("sendmmsg: no address")
	}
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6}
	copy((*[2]byte)(unsafe.Pointer(&sa.Port))[:], port[:])
	copy(sa.Addr[:], ip16)
	return unix.SizeofSockaddrInet6, nil
}
