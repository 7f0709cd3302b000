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
// port, and an idle port holds no receive memory however much is sent to
// it. (A socket filter that drops everything does the same, but attaching
// one compiles it: ten times the cost of a new socket.)

// keepFD readies a released socket for a later call: deaf, and no longer
// connected to the last peer. false: it could not be, and is closed.
func keepFD(fd int, local netip.AddrPort) bool {
	if unix.Connect(fd, sockaddrOf(local)) != nil {
		unix.Close(fd)
		return false
	}
	return true
}

// maxStaleReads bounds the datagrams thrown away from a kept socket
// before a new call uses it: only what came in before it went deaf.
const maxStaleReads = 64

// reuseFD hands a kept socket to a new call, emptied of what arrived
// before it went deaf and hearing everyone again; nil when that failed
// (closed).
func reuseFD(fd int, local netip.AddrPort) *udpSocket {
	var b [1]byte
	for range maxStaleReads {
		// MSG_TRUNC: a datagram is consumed whole into a one-byte buffer.
		_, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1, unix.MSG_TRUNC, 0, 0)
		if errno == unix.EAGAIN {
			if disconnectFD(fd) != nil {
				break
			}
			u := &udpSocket{local: local, quietAt: -1}
			u.fd.Store(int32(fd))
			return u
		}
	}
	unix.Close(fd)
	return nil
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
