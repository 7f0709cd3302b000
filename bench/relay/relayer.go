package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/parkd/parkd/sipcore/media"
)

// A relayer is the measured process: 2N sockets bridged in pairs, each
// socket's peer one of the phones. Socket 2k's input goes out of socket
// 2k+1 and the reverse.
type relayer interface {
	// open makes one socket per phone, its peer that phone, and returns
	// the socket's local address.
	open(phones []netip.AddrPort) ([]netip.AddrPort, error)
	start()
	relayed() uint64
	close()
}

// serve is the child's side (-serve MODE): phone addresses one per line on
// stdin up to a blank line, our addresses one per line on stdout and then
// "ready"; relay until stdin closes, then "relayed N" and exit.
func serve(mode, ports string) {
	var r relayer
	switch mode {
	case "floor":
		r = &floorRelay{}
	case "parkd":
		pr, err := newParkdRelay(ports)
		if err != nil {
			fatal(err)
		}
		r = pr
	default:
		fatal(fmt.Errorf("-serve %q: floor or parkd", mode))
	}
	in := bufio.NewScanner(os.Stdin)
	var phones []netip.AddrPort
	for in.Scan() && in.Text() != "" {
		ap, err := netip.ParseAddrPort(strings.TrimSpace(in.Text()))
		if err != nil {
			fatal(err)
		}
		phones = append(phones, ap)
	}
	if len(phones) == 0 || len(phones)%2 != 0 {
		fatal(fmt.Errorf("%d phones: an even number, at least two", len(phones)))
	}
	local, err := r.open(phones)
	if err != nil {
		fatal(err)
	}
	out := bufio.NewWriter(os.Stdout)
	for _, ap := range local {
		fmt.Fprintln(out, ap)
	}
	fmt.Fprintln(out, "ready")
	out.Flush()
	r.start()
	io.Copy(io.Discard, os.Stdin)
	n := r.relayed()
	r.close()
	fmt.Println("relayed", n)
}

// floorRelay does the kernel's share of relaying and nothing else: every
// socket connected to its phone and in one level-triggered epoll set; one
// loop waits, reads one datagram from each ready socket and writes it to
// the partner with write(2). No header is looked at or rewritten.
type floorRelay struct {
	fds  []int
	epfd int
	n    atomic.Uint64
	stop atomic.Bool
	done chan struct{}
}

func (f *floorRelay) open(phones []netip.AddrPort) ([]netip.AddrPort, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f.epfd = epfd
	local := make([]netip.AddrPort, 0, len(phones))
	for i, ph := range phones {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		f.fds = append(f.fds, fd)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return nil, err
		}
		if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: ph.Addr().As4(), Port: int(ph.Port())}); err != nil {
			return nil, err
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return nil, err
		}
		local = append(local, netip.AddrPortFrom(ph.Addr(), uint16(sa.(*unix.SockaddrInet4).Port)))
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return nil, err
		}
	}
	return local, nil
}

func (f *floorRelay) start() {
	f.done = make(chan struct{})
	go func() {
		defer close(f.done)
		events := make([]unix.EpollEvent, 256)
		var buf [2048]byte
		for !f.stop.Load() {
			n, err := unix.EpollWait(f.epfd, events, 100)
			if err != nil && err != unix.EINTR {
				return
			}
			for _, ev := range events[:max(n, 0)] {
				i := int(ev.Fd)
				got, err := unix.Read(f.fds[i], buf[:])
				if err != nil || got <= 0 {
					continue
				}
				if _, err := unix.Write(f.fds[i^1], buf[:got]); err == nil {
					f.n.Add(1)
				}
			}
		}
	}()
}

func (f *floorRelay) relayed() uint64 { return f.n.Load() }

func (f *floorRelay) close() {
	f.stop.Store(true)
	if f.done != nil {
		<-f.done
	}
	for _, fd := range f.fds {
		unix.Close(fd)
	}
	unix.Close(f.epfd)
}

// parkdRelay is parkd's bridge as the daemon runs it (sipcore/media): a
// session per leg from the real port allocator, its remote set from the
// phone's address as an SDP answer would, input started, and the two legs
// of each call bridged. Only SIP is missing.
type parkdRelay struct {
	alloc    *media.Allocator
	sessions []*media.Session
}

func newParkdRelay(ports string) (*parkdRelay, error) {
	lo, hi, ok := strings.Cut(ports, "-")
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("-rtp-ports %q: want LOW-HIGH", ports)
	}
	alloc, err := media.NewAllocator(netip.MustParseAddr("127.0.0.1"), l, h)
	if err != nil {
		return nil, err
	}
	return &parkdRelay{alloc: alloc}, nil
}

func (p *parkdRelay) open(phones []netip.AddrPort) ([]netip.AddrPort, error) {
	local := make([]netip.AddrPort, 0, len(phones))
	quiet := slog.New(slog.DiscardHandler)
	for _, ph := range phones {
		s, err := p.alloc.Open(quiet)
		if err != nil {
			return nil, fmt.Errorf("session %d: %w", len(p.sessions)+1, err)
		}
		p.sessions = append(p.sessions, s)
		s.SetRemote(ph, media.Format{Codec: media.PCMU, AudioPT: 0, EventPT: 101})
		s.Start(0, nil)
		local = append(local, s.LocalAddr())
	}
	for k := 0; k < len(p.sessions); k += 2 {
		if err := media.Bridge(p.sessions[k], p.sessions[k+1]); err != nil {
			return nil, err
		}
	}
	return local, nil
}

func (p *parkdRelay) start() {}

func (p *parkdRelay) relayed() uint64 {
	var n uint64
	for _, s := range p.sessions {
		n += s.PacketsSent()
	}
	return n
}

func (p *parkdRelay) close() {
	for _, s := range p.sessions {
		s.Close()
	}
	time.Sleep(10 * time.Millisecond) // the pollers let go of the sockets
	// Its kept sockets hold the ports the next window's allocator needs.
	p.alloc.Close()
}
