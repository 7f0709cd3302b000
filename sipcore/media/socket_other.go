//go:build !linux

package media

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

var (
	errNoConnect    = errors.New("media: connected RTP sockets are only used on Linux")
	errSocketClosed = errors.New("media: RTP socket closed")
)

// udpSocket elsewhere is a net.UDPConn read by one goroutine per session;
// Linux uses its own epoll instead (socket_linux.go, poller_linux.go).
type udpSocket struct {
	conn  *net.UDPConn
	local netip.AddrPort
	done  chan struct{} // closed when the read goroutine exits; nil before startReading
}

func listenUDP(network string, laddr netip.AddrPort) (*udpSocket, error) {
	conn, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(laddr))
	if err != nil {
		return nil, err
	}
	return &udpSocket{conn: conn, local: conn.LocalAddr().(*net.UDPAddr).AddrPort()}, nil
}

func (u *udpSocket) localAddr() netip.AddrPort { return u.local }

func (u *udpSocket) write(b []byte) error {
	_, err := u.conn.Write(b)
	return err
}

func (u *udpSocket) writeTo(b []byte, to netip.AddrPort) error {
	_, err := u.conn.WriteToUDPAddrPort(b, to)
	return err
}

func (u *udpSocket) queued() bool { return false }

// Elsewhere sessions always send with sendto.
func (u *udpSocket) connect(netip.AddrPort) error { return errNoConnect }
func (u *udpSocket) disconnect() error            { return errNoConnect }

// startReaders has nothing to start: each session reads on its own.
func startReaders() error { return nil }

func (u *udpSocket) startReading(s *Session) error {
	u.done = make(chan struct{})
	go u.readLoop(s)
	return nil
}

// setRelaying changes nothing here: every session reads at once.
func (u *udpSocket) setRelaying(bool) error { return nil }

func (u *udpSocket) readLoop(s *Session) {
	defer close(u.done)
	buf := make([]byte, maxPacketLen)
	for {
		n, src, err := u.conn.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			time.Sleep(time.Millisecond) // e.g. ICMP errors: do not spin
			continue
		}
		s.handlePacket(buf, n, src)
	}
}

// detach closes the socket: only Linux keeps a port's socket for the
// next call (keep_linux.go).
func (u *udpSocket) detach() (fd int) {
	_ = u.conn.Close()
	if u.done != nil {
		<-u.done
	}
	return -1
}
