package main

import (
	"context"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// packetLen is a G.711 RTP packet of 20 ms: 12 bytes of header, 160 of audio.
const packetLen = 172

// phases matches parkd's MOH ticker: each sender wakes every 2 ms and sends
// to the tenth of its sockets whose turn it is, so the floor is paced the
// way parkd is and the comparison is of the sending alone.
const phases = 10

// floor does the kernel's share of music on hold and nothing else: one
// connected UDP socket per caller, written with write(2) from one sender
// goroutine per CPU, 172 bytes every 20 ms each.
type floor struct {
	fds []int
}

func newFloor(targets []netip.AddrPort) (*floor, error) {
	f := &floor{}
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
		if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: to.Addr().As4(), Port: int(to.Port())}); err != nil {
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
}

// run sends until ctx ends.
func (f *floor) run(ctx context.Context) {
	senders := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	per := (len(f.fds) + senders - 1) / senders
	for lo := 0; lo < len(f.fds); lo += per {
		part := f.fds[lo:min(lo+per, len(f.fds))]
		wg.Go(func() { send(ctx, part) })
	}
	wg.Wait()
}

func send(ctx context.Context, fds []int) {
	var pkt [packetLen]byte
	pkt[0] = 0x80
	timer := time.NewTimer(0)
	defer timer.Stop()
	start := time.Now()
	for n := 0; ; n++ {
		phase := n % phases
		for i := phase; i < len(fds); i += phases {
			unix.Write(fds[i], pkt[:])
		}
		timer.Reset(time.Until(start.Add(time.Duration(n+1) * 20 * time.Millisecond / phases)))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}
