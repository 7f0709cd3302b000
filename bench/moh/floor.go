package main

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/parkd/parkd/internal/uring"
)

// packetLen is a G.711 RTP packet of 20 ms: 12 bytes of header, 160 of audio.
const packetLen = 172

// phases matches parkd's MOH ticker: each sender wakes every 2 ms and sends
// to the tenth of its sockets whose turn it is, so the floor is paced the
// way parkd is and the comparison is of the sending alone.
const phases = 10

// floor does the kernel's share of music on hold and nothing else: one
// connected UDP socket per caller, written with write(2) from one sender
// goroutine per CPU, 172 bytes every 20 ms each. Unconnected, it sends
// with sendto(2) instead: what parkd must do for a caller that has not
// sent it RTP, since a connected socket would hear nobody else.
type floor struct {
	fds     []int
	to      []unix.Sockaddr // nil when connected
	epfd    int             // watching fds for input, or -1
	batched bool            // each sender's writes go through io_uring, 64 a submission
}

// newFloor opens the floor's sockets. watched puts them in an epoll set
// for input, with a goroutine waiting on it, as a server that must hear
// its callers has them: a diagnostic of what hearing costs the senders.
func newFloor(targets []netip.AddrPort, connected, watched bool) (*floor, error) {
	f := &floor{epfd: -1}
	if watched {
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return nil, err
		}
		f.epfd = epfd
		go func() {
			events := make([]unix.EpollEvent, 64)
			for {
				if _, err := unix.EpollWait(epfd, events, -1); err != nil && err != unix.EINTR {
					return
				}
			}
		}()
	}
	for _, to := range targets {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			f.close()
			return nil, err
		}
		f.fds = append(f.fds, fd)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			f.close()
			return nil, err
		}
		if watched {
			ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
			if err := unix.EpollCtl(f.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
				f.close()
				return nil, err
			}
		}
		sa := &unix.SockaddrInet4{Addr: to.Addr().As4(), Port: int(to.Port())}
		if !connected {
			f.to = append(f.to, sa)
			continue
		}
		if err := unix.Connect(fd, sa); err != nil {
			f.close()
			return nil, err
		}
	}
	return f, nil
}

func (f *floor) close() {
	for _, fd := range f.fds {
		unix.Close(fd)
	}
	if f.epfd >= 0 {
		unix.Close(f.epfd) // the waiting goroutine stays blocked: fine in a benchmark
	}
}

// run sends until ctx ends.
func (f *floor) run(ctx context.Context) {
	senders := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	per := (len(f.fds) + senders - 1) / senders
	for lo := 0; lo < len(f.fds); lo += per {
		hi := min(lo+per, len(f.fds))
		var to []unix.Sockaddr
		if f.to != nil {
			to = f.to[lo:hi]
		}
		if f.batched {
			wg.Go(func() { sendBatched(ctx, f.fds[lo:hi]) })
			continue
		}
		wg.Go(func() { send(ctx, f.fds[lo:hi], to) })
	}
	wg.Wait()
}

func send(ctx context.Context, fds []int, to []unix.Sockaddr) {
	var pkt [packetLen]byte
	pkt[0] = 0x80
	timer := time.NewTimer(0)
	defer timer.Stop()
	start := time.Now()
	for n := 0; ; n++ {
		phase := n % phases
		for i := phase; i < len(fds); i += phases {
			if to != nil {
				unix.Sendto(fds[i], pkt[:], 0, to[i])
			} else {
				unix.Write(fds[i], pkt[:])
			}
		}
		timer.Reset(time.Until(start.Add(time.Duration(n+1) * 20 * time.Millisecond / phases)))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// sendBatched is send on connected sockets through io_uring: each phase's
// writes handed to the kernel 64 at a time, as parkd's music hands them
// (internal/uring). The floor for a sender that batches.
func sendBatched(ctx context.Context, fds []int) {
	const batch = 64
	ring, err := uring.New(batch)
	if err != nil {
		fatal(fmt.Errorf("uring-floor: %w", err))
	}
	defer ring.Close()
	var pkt [packetLen]byte
	pkt[0] = 0x80
	res := make([]int32, batch)
	timer := time.NewTimer(0)
	defer timer.Stop()
	start := time.Now()
	for n := 0; ; n++ {
		phase := n % phases
		queued := 0
		for i := phase; i < len(fds); i += phases {
			ring.PrepSend(queued, queued, fds[i], pkt[:])
			if queued++; queued == batch {
				_ = ring.Submit(queued, res)
				queued = 0
			}
		}
		_ = ring.Submit(queued, res)
		timer.Reset(time.Until(start.Add(time.Duration(n+1) * 20 * time.Millisecond / phases)))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}
