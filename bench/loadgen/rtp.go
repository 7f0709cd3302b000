package main

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/parkd/parkd/internal/kstamp"
)

// rtpPool sends every answered call's audio as a phone does: 50 packets/s
// of 160-byte PCMU from the call's own socket, to where the SDP answer
// said. One goroutine writes them all, connected sockets and write(2), so
// the generator's cost per packet is near the kernel's. What parkd sends
// back is read only on sampled calls (openSampled), to time the relay;
// elsewhere the kernel drops it once a socket's buffer fills, as it costs
// a phone nothing either.
type rtpPool struct {
	mu       sync.Mutex
	active   []*rtpStream
	toClose  []*rtpStream // closed by run between ticks, so a send never hits a reused fd
	snapshot []*rtpStream
	// relayed records the delay of each stamped packet a sampled call
	// heard from its peer through parkd.
	relayed func(time.Duration)
}

type rtpStream struct {
	pool    *rtpPool
	fd      int
	conn    *net.UDPConn // a sampled stream's socket, read for relayed packets; nil otherwise
	port    int
	idx     int // in pool.active, -1 when not sending
	seq     uint16
	ts      uint32
	stopped atomic.Bool
}

// stampMagic opens the payload of every packet the generator sends,
// followed by the wall-clock time it was sent (Unix nanoseconds, 8
// bytes): a sampled call that hears it has its relay delay.
var stampMagic = [4]byte{'L', 'G', 't', 's'}

const stampAt = 12 // the payload, after the 12-byte RTP header

// openSampled is open for a call whose relayed audio is timed: its socket
// stamps each arrival in the kernel, and a goroutine reads it until close.
func (p *rtpPool) openSampled() (*rtpStream, error) {
	conn, err := kstamp.ListenLoopback()
	if err != nil {
		return nil, err
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, err
	}
	s := &rtpStream{pool: p, conn: conn, port: conn.LocalAddr().(*net.UDPAddr).Port, idx: -1}
	raw.Control(func(fd uintptr) { s.fd = int(fd) })
	go s.readRelayed()
	return s, nil
}

// readRelayed times each stamped packet from the peer, by the kernel's
// arrival stamp, so this process's own delays do not count.
func (s *rtpStream) readRelayed() {
	buf := make([]byte, 2048)
	oob := make([]byte, kstamp.OOBSize)
	for {
		n, _, arrived, err := kstamp.Read(s.conn, buf, oob)
		if err != nil {
			return
		}
		// Without a kernel stamp (not on Linux) arrived is the read's
		// time, which adds this process's own delay.
		if sent, ok := stampOf(buf[:n]); ok && s.pool.relayed != nil {
			s.pool.relayed(arrived.Sub(sent))
		}
	}
}

// stampOf is the send time a generator's packet carries.
func stampOf(pkt []byte) (time.Time, bool) {
	if len(pkt) < stampAt+12 || [4]byte(pkt[stampAt:stampAt+4]) != stampMagic {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(pkt[stampAt+4:]))), true
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

// startSending connects the stream to to and adds it to those sent to,
// unless it was stopped meanwhile (its leg gave up as the answer came):
// its descriptor may then be closed already, and its number another
// socket's. Under p.mu, so close, which stops it first, cannot pass.
func (s *rtpStream) startSending(to netip.AddrPort) {
	p := s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.stopped.Load() {
		return
	}
	if err := unix.Connect(s.fd, &unix.SockaddrInet4{Addr: to.Addr().As4(), Port: int(to.Port())}); err != nil {
		return
	}
	if s.idx < 0 {
		s.idx = len(p.active)
		p.active = append(p.active, s)
	}
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
	s.pool.toClose = append(s.pool.toClose, s)
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
	copy(pkt[stampAt:], stampMagic[:])
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			p.closeQueued()
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
			binary.BigEndian.PutUint64(pkt[stampAt+4:], uint64(time.Now().UnixNano()))
			unix.Write(s.fd, pkt[:])
		}
		clear(p.snapshot)
		p.closeQueued()
	}
}

// closeQueued closes the streams closed since the last tick.
func (p *rtpPool) closeQueued() {
	p.mu.Lock()
	closing := p.toClose
	p.toClose = nil
	p.mu.Unlock()
	for _, s := range closing {
		if s.conn != nil {
			// Close waits for the reader to return: not on the sender's
			// goroutine, which would park behind the run queue.
			go s.conn.Close()
		} else {
			unix.Close(s.fd)
		}
	}
}
