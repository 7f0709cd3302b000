package uring

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// newRing skips where the kernel gives no ring (the callers' own tests
// then cover their one-call-per-datagram path).
func newRing(t *testing.T) *Ring {
	t.Helper()
	r, err := New(16)
	if errors.Is(err, ErrUnusable) {
		t.Skipf("no io_uring here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// udpPair is a receiving socket and a raw non-blocking sender.
func udpPair(t *testing.T) (recv *net.UDPConn, sender int) {
	t.Helper()
	recv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { recv.Close() })
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	return recv, fd
}

func sockaddr(ap netip.AddrPort) (unix.RawSockaddrInet4, uint32) {
	sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ap.Addr().As4()}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(ap.Port()>>8), byte(ap.Port())
	return sa, unix.SizeofSockaddrInet4
}

func recvOne(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 2048)
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("nothing arrived: %v", err)
	}
	return buf[:n]
}

// One submission carries sends on connected sockets, sends by address
// and a read, each result under its own tag, and a send on a descriptor
// that is not a socket fails alone (the rest still go).
func TestOneSubmissionMovesEveryDatagram(t *testing.T) {
	r := newRing(t)
	connRecv, connFD := udpPair(t)
	if err := unix.Connect(connFD, &unix.SockaddrInet4{Port: connRecv.LocalAddr().(*net.UDPAddr).Port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	addrRecv, addrFD := udpPair(t)
	to := addrRecv.LocalAddr().(*net.UDPAddr).AddrPort()
	sa, saLen := sockaddr(to)
	hello, byAddr := []byte("hello"), []byte("by address")
	iov := unix.Iovec{Base: &byAddr[0]}
	iov.SetLen(len(byAddr))
	msg := unix.Msghdr{Name: (*byte)(unsafe.Pointer(&sa)), Namelen: saLen, Iov: &iov}
	msg.SetIovlen(1)

	// A datagram waiting on the sender's own socket, for the read.
	self, err := unix.Getsockname(addrFD)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: self.(*unix.SockaddrInet4).Port})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := peer.Write([]byte("incoming")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	in := make([]byte, 64)
	var from unix.RawSockaddrAny
	inIov := unix.Iovec{Base: &in[0]}
	inIov.SetLen(len(in))
	inMsg := unix.Msghdr{Name: (*byte)(unsafe.Pointer(&from)), Namelen: unix.SizeofSockaddrAny, Iov: &inIov}
	inMsg.SetIovlen(1)

	notSocket, err := unix.Open("/dev/null", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(notSocket)

	res := make([]int32, 8)
	r.PrepSend(0, 3, connFD, hello)
	r.PrepSend(1, 5, notSocket, hello)
	r.PrepSendmsg(2, 1, addrFD, &msg)
	r.PrepRecvmsg(3, 0, addrFD, &inMsg)
	if err := r.Submit(4, res); err != nil {
		t.Fatal(err)
	}
	if res[3] != int32(len(hello)) || res[1] != int32(len(byAddr)) || res[0] != int32(len("incoming")) {
		t.Fatalf("results %v: want %d under tag 3, %d under 1, %d under 0", res, len(hello), len(byAddr), len("incoming"))
	}
	if err := Err(res[5]); !errors.Is(err, unix.ENOTSOCK) {
		t.Fatalf("send on /dev/null: %v, want ENOTSOCK", err)
	}
	if got := recvOne(t, connRecv); string(got) != "hello" {
		t.Fatalf("connected send delivered %q", got)
	}
	if got := recvOne(t, addrRecv); string(got) != "by address" {
		t.Fatalf("send by address delivered %q", got)
	}
	if string(in[:res[0]]) != "incoming" || from.Addr.Family != unix.AF_INET {
		t.Fatalf("read %q from family %d", in[:res[0]], from.Addr.Family)
	}

	// The ring is used again from its start: a second batch works too.
	r.PrepSend(0, 0, connFD, []byte("again"))
	if err := r.Submit(1, res); err != nil || res[0] != 5 {
		t.Fatalf("second submission: %v, result %d", err, res[0])
	}
	if got := recvOne(t, connRecv); string(got) != "again" {
		t.Fatalf("second send delivered %q", got)
	}
}

// A read of an empty socket does not wait: it completes with EAGAIN.
func TestReadOfEmptySocketDoesNotWait(t *testing.T) {
	r := newRing(t)
	_, fd := udpPair(t)
	buf := make([]byte, 64)
	iov := unix.Iovec{Base: &buf[0]}
	iov.SetLen(len(buf))
	m := unix.Msghdr{Iov: &iov}
	m.SetIovlen(1)
	res := make([]int32, 1)
	done := make(chan error, 1)
	go func() {
		r.PrepRecvmsg(0, 0, fd, &m)
		done <- r.Submit(1, res)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a read of an empty socket waited")
	}
	if !errors.Is(Err(res[0]), unix.EAGAIN) {
		t.Fatalf("result %d, want -EAGAIN", res[0])
	}
}

// Close twice closes once: the second call must not close a descriptor
// that took the ring's number meanwhile (a cleanup may close after the
// owner did).
func TestCloseTwiceClosesOnce(t *testing.T) {
	r := newRing(t)
	fd := r.fd
	r.Close()
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
		t.Fatalf("the ring's descriptor is still open after Close: %v", err)
	}
	reused, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(reused)
	r.Close()
	if _, err := unix.FcntlInt(uintptr(reused), unix.F_GETFD, 0); err != nil {
		t.Fatalf("the second Close closed descriptor %d (the ring's was %d): %v", reused, fd, err)
	}
}

// A failed submission breaks the ring for good: the next one fails at
// once instead of handing the kernel entries nobody prepared.
func TestSubmitAfterFailureFails(t *testing.T) {
	r := newRing(t)
	_, fd := udpPair(t)
	ringFD := r.fd
	r.fd = -1 // as if the ring had gone: io_uring_enter fails with EBADF
	defer func() { r.fd = ringFD }()
	r.PrepSend(0, 0, fd, []byte("x"))
	res := make([]int32, 1)
	if err := r.Submit(1, res); !errors.Is(err, unix.EBADF) {
		t.Fatalf("Submit without its ring: %v, want EBADF", err)
	}
	r.fd = ringFD
	r.PrepSend(0, 0, fd, []byte("x"))
	if err := r.Submit(1, res); err == nil {
		t.Fatal("a Submit after a failure succeeded")
	}
}
