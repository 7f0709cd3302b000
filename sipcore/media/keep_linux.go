package media

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A port's socket outlives its call: the Allocator keeps it bound, and
// the next call given that port takes it over instead of a new one.
// socket, setsockopt, bind and close were the dearest system calls of a
// park-and-retrieve pair (docs/PERFORMANCE.md, twelfth pass).
//
// While it waits, the socket is connected to its own address. A connected
// UDP socket takes datagrams only from its peer, and nothing else sends
// from that address, so the kernel delivers nothing to it: a peer of the
// ended call, or anyone else, gets ICMP port unreachable as from a closed
// port, and once what was queued before is read away, an idle port holds
// no receive memory however much is sent to it. (A socket filter that
// drops everything does the same, but attaching one compiles it: ten
// times the cost of a new socket.)

// keepsSockets says whether sockets bound to ip can be kept. Not on a
// wildcard address: connecting such a socket binds it to the address
// the route gives (loopback) until it is disconnected, and meanwhile
// another process could bind the port on a specific address and take
// the next call's packets.
func keepsSockets(ip netip.Addr) bool { return !ip.IsUnspecified() }

// keepFD readies a released socket for a later call: deaf, emptied of
// what came before it went deaf, and no longer connected to the last
// peer. false: it could not be, and is closed.
func keepFD(fd int, local netip.AddrPort) bool {
	if unix.Connect(fd, sockaddrOf(local)) != nil || !drain(fd) {
		unix.Close(fd)
		return false
	}
	return true
}

// maxStaleReads bounds the datagrams thrown away from a socket being
// kept: what its receive buffer held when it went deaf, 256 or so at
// the default size. A socket still not empty after that (a larger
// rmem_default under a flood) is closed instead of kept.
const maxStaleReads = 512

// staleBatch is how many datagrams one recvmmsg(2) throws away. A call
// ends with a few still queued (five on average at 1,000 pairs/s), and
// each system call costs more than the datagram it reads: one a datagram
// was a tenth of parkd's CPU there.
const staleBatch = 32

// staleMsg is struct mmsghdr: Go pads it to the C layout on 32- and
// 64-bit alike.
type staleMsg struct {
	hdr unix.Msghdr
	len uint32
}

// drain reads and throws away every datagram queued on fd, and any error
// an ICMP message left; false when it is still not empty after
// maxStaleReads. Most sockets are empty already, and a recvfrom(2) finds
// that sooner than a recvmmsg(2); what is left after one datagram is read
// in batches.
func drain(fd int) bool {
	var b [1]byte // MSG_TRUNC: each datagram is consumed whole into one byte
	_, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1, unix.MSG_TRUNC, 0, 0)
	if errno == unix.EAGAIN {
		return true
	}
	iov := unix.Iovec{Base: &b[0], Len: 1}
	var msgs [staleBatch]staleMsg
	for i := range msgs {
		msgs[i].hdr.Iov = &iov
		msgs[i].hdr.Iovlen = 1
	}
	for read := 1; read < maxStaleReads; {
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), staleBatch, unix.MSG_DONTWAIT|unix.MSG_TRUNC, 0, 0)
		// A short batch does not prove the queue empty: an ICMP error
		// also ends one, and is reported by the next call. Only EAGAIN
		// does.
		switch {
		case errno == unix.EAGAIN:
			return true
		case errno != 0:
			read++ // that error, reported once
		default:
			read += int(n)
		}
	}
	return false
}

// reuseFD hands a kept socket to a new call, hearing everyone again; nil
// when that failed (closed). It drains once more, for a datagram the
// kernel had already matched to the socket when it was connected to
// itself.
func reuseFD(fd int, local netip.AddrPort) *udpSocket {
	if !drain(fd) || disconnectFD(fd) != nil {
		unix.Close(fd)
		return nil
	}
	u := &udpSocket{local: local, quietAt: -1}
	u.fd.Store(int32(fd))
	return u
}

func closeFD(fd int) { unix.Close(fd) }

// keptLimit is how many idle sockets the process may keep: a quarter of
// its descriptors, so kept ports never starve SIP's TCP connections or
// the API of theirs.
func keptLimit() int {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return int(min(lim.Cur/4, 1<<20))
}
