package main

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// rtpPool sends every answered call's audio as a phone does: 50 packets/s
// of 160-byte PCMU from the call's own socket, to where the SDP answer
// said. One goroutine writes them all, connected sockets and write(2), so
// the generator's cost per packet is near the kernel's. Nothing is read:
// what parkd sends back is dropped by the kernel once a socket's buffer
// fills, as it costs a phone nothing either.
type rtpPool struct {
	mu       sync.Mutex
	active   []*rtpStream
	toClose  []int // closed by run between ticks, so a send never hits a reused fd
	snapshot []*rtpStream
}

type rtpStream struct {
	pool    *rtpPool
	fd      int
	port    int
	idx     int // in pool.active, -1 when not sending
	seq     uint16
	ts      uint32
	stopped atomic.Bool
}

func (p *rtpPool) open() (*rtpStream, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &rtpStream{pool: p, fd: fd, port: sa.(*unix.SockaddrInet4).Port, idx: -1}, nil
}

func (s *rtpStream) startSending(to netip.AddrPort) {
	if err := unix.Connect(s.fd, &unix.SockaddrInet4{Addr: to.Addr().As4(), Port: int(to.Port())}); err != nil {
		return
	}
	p := s.pool
	p.mu.Lock()
	if s.idx < 0 {
		s.idx = len(p.active)
		p.active = append(p.active, s)
	}
	p.mu.Unlock()
}

func (s *rtpStream) stopSending() {
	s.stopped.Store(true)
	p := s.pool
	p.mu.Lock()
	if s.idx >= 0 {
		last := len(p.active) - 1
		p.active[s.idx] = p.active[last]
		p.active[s.idx].idx = s.idx
		p.active[last] = nil
		p.active = p.active[:last]
		s.idx = -1
	}
	p.mu.Unlock()
}

func (s *rtpStream) close() {
	s.stopSending()
	s.pool.mu.Lock()
	s.pool.toClose = append(s.pool.toClose, s.fd)
	s.pool.mu.Unlock()
}

// run sends a frame to every active stream every 20 ms until stop closes,
// when send is set, and closes the streams closed since the last tick.
// It runs without send too: a run without caller RTP leaked every call's
// socket, until two generators' runs of 30 s took the ephemeral ports
// and calls failed with "no RTP socket: address already in use".
func (p *rtpPool) run(stop <-chan struct{}, send bool) {
	var pkt [172]byte
	pkt[0], pkt[1] = 0x80, 0 // RTP v2, PCMU
	for i := 12; i < len(pkt); i++ {
		pkt[i] = 0xff // µ-law silence
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		p.mu.Lock()
		if send {
			p.snapshot = append(p.snapshot[:0], p.active...)
		}
		p.mu.Unlock()
		// Without the lock: SIP handling adds and removes streams meanwhile.
		for _, s := range p.snapshot {
			if s.stopped.Load() {
				continue
			}
			s.seq++
			s.ts += 160
			pkt[2], pkt[3] = byte(s.seq>>8), byte(s.seq)
			pkt[4], pkt[5], pkt[6], pkt[7] = byte(s.ts>>24), byte(s.ts>>16), byte(s.ts>>8), byte(s.ts)
			pkt[8], pkt[9], pkt[10], pkt[11] = byte(s.fd>>24), byte(s.fd>>16), byte(s.fd>>8), byte(s.fd) // SSRC
			unix.Write(s.fd, pkt[:])
		}
		clear(p.snapshot)
		p.mu.Lock()
		closing := p.toClose
		p.toClose = nil
		p.mu.Unlock()
		for _, fd := range closing {
			unix.Close(fd)
		}
	}
}
