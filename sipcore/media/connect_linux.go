package media

import (
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// connectSocket connect(2)s conn to peer: the kernel then keeps the route
// and skips its lookup on every send, and drops datagrams from anyone else.
func connectSocket(conn *net.UDPConn, peer netip.AddrPort) error {
	var sa unix.Sockaddr
	if peer.Addr().Is4() {
		sa = &unix.SockaddrInet4{Port: int(peer.Port()), Addr: peer.Addr().As4()}
	} else {
		sa = &unix.SockaddrInet6{Port: int(peer.Port()), Addr: peer.Addr().As16()}
	}
	return controlSocket(conn, func(fd int) error { return unix.Connect(fd, sa) })
}

// disconnectSocket undoes connectSocket (connect to AF_UNSPEC): the socket
// keeps its bound address and port and takes datagrams from anyone again.
func disconnectSocket(conn *net.UDPConn) error {
	return controlSocket(conn, func(fd int) error {
		sa := unix.RawSockaddr{Family: unix.AF_UNSPEC}
		_, _, errno := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
		if errno != 0 {
			return errno
		}
		return nil
	})
}

func controlSocket(conn *net.UDPConn, f func(fd int) error) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
