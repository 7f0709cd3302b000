package main

import (
	"context"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/parkd/parkd/bench/internal/rtpprobe"
)

// packetLen is a G.711 RTP packet of 20 ms: 12 bytes of header, 160 of audio.
const packetLen = 172

// phases spreads the phones' sends over the 20 ms period, as phones that
// did not all answer in the same millisecond are: the sender wakes every
// 2 ms and sends for a tenth of them.
const phases = 10

// phones are both ends of every relayed call: one UDP socket each, sending
// 50 packets/s to its relay socket, never reading except the probes, whose
// reads say what the relay delivered and when.
type phones struct {
	fds     []int
	isProbe []bool // fds[i] belongs to a probe, which closes it
	probes  []*rtpprobe.Probe
}

// openPhones opens n phones, of which every (n/sample)th is a probe.
func openPhones(n, sample int) (*phones, error) {
	ph := &phones{}
	every := max(n/max(sample, 1), 1)
	for i := range n {
		if i%every == every-1 && len(ph.probes) < sample {
			p, err := rtpprobe.New()
			if err != nil {
				ph.close()
				return nil, err
			}
			raw, err := p.Conn.SyscallConn()
			if err != nil {
				ph.close()
				return nil, err
			}
			fd := -1
			raw.Control(func(d uintptr) { fd = int(d) })
			ph.fds = append(ph.fds, fd)
			ph.isProbe = append(ph.isProbe, true)
			ph.probes = append(ph.probes, p)
			go p.Read()
			continue
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			ph.close()
			return nil, err
		}
		ph.fds = append(ph.fds, fd)
		ph.isProbe = append(ph.isProbe, false)
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			ph.close()
			return nil, err
		}
	}
	return ph, nil
}

func (ph *phones) addrs() ([]netip.AddrPort, error) {
	out := make([]netip.AddrPort, 0, len(ph.fds))
	for _, fd := range ph.fds {
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port)))
	}
	return out, nil
}

// connect points phone i at relay socket to[i]; a phone sends from where
// its SDP said, so parkd latches it at once.
func (ph *phones) connect(to []netip.AddrPort) error {
	for i, fd := range ph.fds {
		if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: to[i].Addr().As4(), Port: int(to[i].Port())}); err != nil {
			return err
		}
	}
	return nil
}

// send sends every phone's audio until ctx ends.
func (ph *phones) send(ctx context.Context) {
	var pkt [packetLen]byte
	pkt[0] = 0x80 // RTP v2, PCMU
	for i := 12; i < len(pkt); i++ {
		pkt[i] = 0xff // µ-law silence
	}
	seq := make([]uint16, len(ph.fds))
	// Each phase is sent at its time: late by the scheduler, a phase is
	// sent at once, never skipped, so every phone sends 50 packets a second.
	const step = 20 * time.Millisecond / phases
	next := time.Now()
	for phase := 0; ; phase = (phase + 1) % phases {
		next = next.Add(step)
		if wait := time.Until(next); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		for i := phase; i < len(ph.fds); i += phases {
			seq[i]++
			ts := uint32(seq[i]) * 160
			pkt[2], pkt[3] = byte(seq[i]>>8), byte(seq[i])
			pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
			pkt[8], pkt[9], pkt[10], pkt[11] = 0, 0, byte(i>>8), byte(i) // SSRC
			unix.Write(ph.fds[i], pkt[:])
		}
	}
}

func (ph *phones) close() {
	for i, fd := range ph.fds {
		if !ph.isProbe[i] {
			unix.Close(fd)
		}
	}
	rtpprobe.Close(ph.probes)
}
