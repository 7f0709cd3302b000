package main

import (
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/parkd/parkd/internal/kstamp"
)

// probe is a sampled caller: a UDP socket that reads every packet with the
// kernel's receive timestamp (SO_TIMESTAMPNS), so the pacing measured is
// what arrived on the wire, not when this program got round to reading.
type probe struct {
	conn *net.UDPConn
	mu   sync.Mutex
	at   []time.Time
}

func newProbe() (*probe, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	if err := kstamp.Enable(conn); err != nil {
		conn.Close()
		return nil, err
	}
	return &probe{conn: conn}, nil
}

func (p *probe) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// read records arrival times until the socket closes.
func (p *probe) read() {
	buf := make([]byte, 2048)
	oob := make([]byte, kstamp.OOBSize)
	for {
		_, _, at, err := kstamp.Read(p.conn, buf, oob)
		if err != nil {
			return
		}
		p.mu.Lock()
		p.at = append(p.at, at)
		p.mu.Unlock()
	}
}

func (p *probe) reset() {
	p.mu.Lock()
	p.at = p.at[:0]
	p.mu.Unlock()
}

// pacing is what the probes saw over a window.
type pacing struct {
	MinPacketsPerSec float64 `json:"min_packets_per_s"`
	JitterP50Ms      float64 `json:"jitter_p50_ms"`
	JitterP99Ms      float64 `json:"jitter_p99_ms"`
	JitterMaxMs      float64 `json:"jitter_max_ms"`
	Streams          int     `json:"streams"`
}

// measure sums the probes up: the jitter of a stream is |inter-arrival −
// 20 ms| per packet, pooled over every probe.
func measure(probes []*probe, window time.Duration) pacing {
	var dev []time.Duration
	res := pacing{MinPacketsPerSec: -1, Streams: len(probes)}
	for _, p := range probes {
		p.mu.Lock()
		at := slices.Clone(p.at)
		p.mu.Unlock()
		pps := float64(len(at)) / window.Seconds()
		if res.MinPacketsPerSec < 0 || pps < res.MinPacketsPerSec {
			res.MinPacketsPerSec = pps
		}
		for i := 1; i < len(at); i++ {
			d := at[i].Sub(at[i-1]) - 20*time.Millisecond
			dev = append(dev, max(d, -d))
		}
	}
	if len(dev) > 0 {
		slices.Sort(dev)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		res.JitterP50Ms = ms(dev[len(dev)/2])
		res.JitterP99Ms = ms(dev[len(dev)*99/100])
		res.JitterMaxMs = ms(dev[len(dev)-1])
	}
	return res
}

func closeProbes(probes []*probe) {
	for _, p := range probes {
		p.conn.Close()
	}
}

// sink is a receiver that never reads: the kernel drops what overflows its
// buffer, which costs the sender what a remote phone would.
func newSink() (*net.UDPConn, error) {
	return net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
}

func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fatal(err error) {
	os.Stderr.WriteString("bench/moh: " + err.Error() + "\n")
	os.Exit(2)
}
