package media

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpSocket is a session's RTP socket, a plain non-blocking file
// descriptor that Go's network poller never sees. A socket in Go's poller
// is registered for writability as well as input, so every datagram sent
// wakes the poller when the kernel frees its buffer: at 100,000 packets a
// second of music that alone cost a third more CPU than the kernel's own
// work (bench/moh, -mode gofloor). Here the sockets wait for input on
// parkd's own epoll (poller_linux.go), for input only, and sends are plain
// system calls that drop a packet rather than wait when a send buffer is
// full, as RTP should.
type udpSocket struct {
	// fd is -1 once closed, so a late connect or send (a re-INVITE for a
	// call that just ended) fails with EBADF instead of reaching whatever
	// socket the kernel has since given the same number.
	fd    atomic.Int32
	local netip.AddrPort

	// reading is set while the poller may read fd. The poller holds
	// readMu across a read and its handling, so close waits for a packet
	// in flight and fd is never read once close began; closed keeps a
	// Start that races with Close from registering the descriptor.
	readMu  sync.Mutex
	reading bool
	closed  bool
	poller  *poller
	slot    pollSlot
	// Who reads it (under readMu): a poller the moment a datagram comes
	// while the session relays, the quiet sweep otherwise (quiet_linux.go).
	session  *Session
	relaying bool
	quietAt  int // index in quiet.members, -1 when not there (quiet.mu)
}

func (u *udpSocket) desc() int { return int(u.fd.Load()) }

func listenUDP(network string, laddr netip.AddrPort) (*udpSocket, error) {
	family := unix.AF_INET
	if network == "udp6" {
		family = unix.AF_INET6
	}
	sa := sockaddrOf(laddr)
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, &netError{op: "socket", addr: laddr, err: err}
	}
	if family == unix.AF_INET6 {
		// Never dual-stack: sources must compare cleanly (see Allocator).
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			unix.Close(fd)
			return nil, &netError{op: "setsockopt", addr: laddr, err: err}
		}
	}
	if family == unix.AF_INET {
		// Don't-fragment on every datagram, path MTU ignored: an RTP
		// packet is far below any MTU, and with DF set the kernel leaves
		// an unconnected socket's IP ID at 0 (RFC 6864) instead of
		// hashing every packet into a counter that all CPUs share.
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE); err != nil {
			unix.Close(fd)
			return nil, &netError{op: "setsockopt", addr: laddr, err: err}
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, &netError{op: "bind", addr: laddr, err: err}
	}
	stampReads(fd)
	local := laddr
	if laddr.Port() == 0 {
		if got, err := unix.Getsockname(fd); err == nil {
			local = sockaddrToAddrPort(got)
		}
	}
	u := &udpSocket{local: local, quietAt: -1}
	u.fd.Store(int32(fd))
	return u, nil
}

// netError reads like the net package's errors ("bind 127.0.0.1:5000:
// address already in use") and unwraps to the errno.
type netError struct {
	op   string
	addr netip.AddrPort
	err  error
}

func (e *netError) Error() string { return e.op + " " + e.addr.String() + ": " + e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

func (u *udpSocket) localAddr() netip.AddrPort { return u.local }

// write sends on the connected socket.
//
// write, writeTo and readFrom are raw system calls: the descriptor is
// non-blocking, so the call returns within microseconds and the runtime
// need not be told the goroutine left for the kernel (entersyscall and
// exitsyscall were 2–3 % of the music's CPU), nor hand its P to another
// thread meanwhile.
func (u *udpSocket) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_, _, errno := unix.RawSyscall(unix.SYS_WRITE, uintptr(u.desc()), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if errno != 0 {
		return errno
	}
	return nil
}

// writeTo sends b to `to` without allocating: the address is built on the
// stack, which unix.Sendto's Sockaddr interface would not allow.
func (u *udpSocket) writeTo(b []byte, to netip.AddrPort) error {
	var (
		sa4   unix.RawSockaddrInet4
		sa6   unix.RawSockaddrInet6
		sa    unsafe.Pointer
		saLen uintptr
	)
	if u.local.Addr().Is4() {
		if !to.Addr().Is4() {
			return syscall.EAFNOSUPPORT
		}
		sa4.Family = unix.AF_INET
		sa4.Addr = to.Addr().As4()
		putPort(&sa4.Port, to.Port())
		sa, saLen = unsafe.Pointer(&sa4), unix.SizeofSockaddrInet4
	} else {
		sa6.Family = unix.AF_INET6
		sa6.Addr = to.Addr().As16()
		putPort(&sa6.Port, to.Port())
		sa, saLen = unsafe.Pointer(&sa6), unix.SizeofSockaddrInet6
	}
	if len(b) == 0 {
		return nil
	}
	_, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(u.desc()), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0, uintptr(sa), saLen)
	if errno != 0 {
		return errno
	}
	return nil
}

// readFrom reads one datagram without blocking and without allocating.
func (u *udpSocket) readFrom(b []byte) (int, netip.AddrPort, error) {
	var rsa unix.RawSockaddrAny
	rsaLen := uint32(unix.SizeofSockaddrAny)
	var buf unsafe.Pointer
	if len(b) > 0 {
		buf = unsafe.Pointer(&b[0])
	}
	n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(u.desc()), uintptr(buf), uintptr(len(b)), 0,
		uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&rsaLen)))
	if errno != 0 {
		return 0, netip.AddrPort{}, errno
	}
	return int(n), rawToAddrPort(&rsa), nil
}

// readStamped is readFrom with the datagram's arrival stamp in stamp
// (see stampReads).
func (u *udpSocket) readStamped(b []byte, stamp *arrivalStamp) (int, netip.AddrPort, error) {
	var rsa unix.RawSockaddrAny
	iov := unix.Iovec{Base: unsafe.SliceData(b)}
	iov.SetLen(len(b))
	stamp.reset()
	msg := unix.Msghdr{Name: (*byte)(unsafe.Pointer(&rsa)), Namelen: unix.SizeofSockaddrAny, Iov: &iov,
		Control: (*byte)(unsafe.Pointer(stamp))}
	msg.SetIovlen(1)
	msg.SetControllen(int(unsafe.Sizeof(*stamp)))
	n, _, errno := unix.RawSyscall(unix.SYS_RECVMSG, uintptr(u.desc()), uintptr(unsafe.Pointer(&msg)), 0)
	if errno != 0 {
		return 0, netip.AddrPort{}, errno
	}
	return int(n), rawToAddrPort(&rsa), nil
}

// queued reports whether a datagram waits to be read (SIOCINQ).
func (u *udpSocket) queued() bool {
	n, err := unix.IoctlGetInt(u.desc(), unix.SIOCINQ)
	return err == nil && n > 0
}

func (u *udpSocket) connect(to netip.AddrPort) error {
	return unix.Connect(u.desc(), sockaddrOf(to))
}

// sockaddrOf is ap for bind and connect (the Allocator's network follows
// its address's family, so the two agree).
func sockaddrOf(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

// disconnect connects to AF_UNSPEC: the socket keeps its bound address and
// port and takes datagrams from anyone again.
func (u *udpSocket) disconnect() error { return disconnectFD(u.desc()) }

func disconnectFD(fd int) error {
	sa := unix.RawSockaddr{Family: unix.AF_UNSPEC}
	_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	if errno != 0 {
		return errno
	}
	return nil
}

// startReading reads the socket from now on and hands each datagram to
// s.handlePacket: the quiet sweep reads it, or a poller while s relays.
func (u *udpSocket) startReading(s *Session) error {
	if err := startReaders(); err != nil {
		return err
	}
	// Under readMu: close, which takes it first, then either finds the
	// socket registered and removes it, or has marked it closed and it is
	// never registered.
	u.readMu.Lock()
	defer u.readMu.Unlock()
	if u.closed {
		return errSocketClosed
	}
	u.session, u.reading = s, true
	return u.placeLocked()
}

// setRelaying says whether the session relays what it reads to a bridged
// leg, which must go out at once: its socket moves into a poller's epoll
// set, or back to the quiet sweep. Before startReading it only records
// the choice.
func (u *udpSocket) setRelaying(on bool) error {
	u.readMu.Lock()
	defer u.readMu.Unlock()
	if u.relaying == on {
		return nil
	}
	u.relaying = on
	if !u.reading {
		return nil
	}
	return u.placeLocked()
}

// placeLocked puts a reading socket where its mode says. A socket epoll
// refuses is swept instead: heard within a sweep (quietSweep) rather than not at all.
func (u *udpSocket) placeLocked() error {
	if !u.relaying {
		if p := u.poller; p != nil {
			p.remove(u.desc(), u.slot)
			u.poller = nil
		}
		quiet.add(u, u.session)
		return nil
	}
	if u.poller != nil {
		return nil
	}
	if err := pollers.addLocked(u, u.session); err != nil {
		quiet.add(u, u.session)
		return err
	}
	quiet.remove(u)
	// What the sweep has not read yet came before the bridge: handled
	// (the latch, a key) but not relayed, as when it was read on arrival.
	// Bridge links the legs only after this.
	buf := handOverBufs.Get().(*[maxPacketLen]byte)
	defer handOverBufs.Put(buf)
	for range quietRounds {
		if !u.readOneLocked(u.session, buf[:], nil) {
			break
		}
	}
	return nil
}

// handOverBufs hold what placeLocked reads on the way to a poller. An
// array of its own would escape (Session.receive keeps no reference, but
// the compiler cannot tell) and cost every bridged leg 2 KiB of garbage:
// 6 % of what a park-then-retrieve pair allocated.
var handOverBufs = sync.Pool{New: func() any { return new([maxPacketLen]byte) }}

// detach stops reading, waiting for a packet being handled, and hands
// the descriptor over still open and bound (-1 if it was already
// detached). u itself is closed from then on: a late send through it
// fails with EBADF rather than reach the call that reuses the descriptor.
func (u *udpSocket) detach() (fd int) {
	u.readMu.Lock()
	u.reading, u.closed = false, true
	p, slot := u.poller, u.slot
	u.poller = nil
	quiet.remove(u)
	fd = int(u.fd.Swap(-1))
	u.readMu.Unlock()
	if p != nil && fd >= 0 {
		p.remove(fd, slot)
	}
	return fd
}

func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

func getPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

func rawToAddrPort(rsa *unix.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), getPort(&sa.Port))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), getPort(&sa.Port))
	}
	return netip.AddrPort{}
}

func sockaddrToAddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	}
	return netip.AddrPort{}
}
