// Package rtpprobe is the sampled receiver of the media benchmarks: a UDP
// socket that reads every packet with the kernel's receive timestamp
// (SO_TIMESTAMPNS), so the pacing measured is what arrived on the wire, not
// when the benchmark got round to reading it.
package rtpprobe

import (
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/parkd/parkd/internal/kstamp"
)

// Probe is one sampled stream's receiver.
type Probe struct {
	Conn *net.UDPConn
	mu   sync.Mutex
	at   []time.Time
}

// New opens a probe on 127.0.0.1 at a port the kernel picks.
func New() (*Probe, error) {
	conn, err := kstamp.ListenLoopback()
	if err != nil {
		return nil, err
	}
	return &Probe{Conn: conn}, nil
}

// Addr is where the probe receives.
func (p *Probe) Addr() netip.AddrPort { return p.Conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// Read records arrival times until the socket closes.
func (p *Probe) Read() {
	buf := make([]byte, 2048)
	oob := make([]byte, kstamp.OOBSize)
	for {
		_, _, at, err := kstamp.Read(p.Conn, buf, oob)
		if err != nil {
			return
		}
		p.mu.Lock()
		p.at = append(p.at, at)
		p.mu.Unlock()
	}
}

// Reset forgets what arrived so far: a window starts.
func (p *Probe) Reset() {
	p.mu.Lock()
	p.at = p.at[:0]
	p.mu.Unlock()
}

// Pacing is what the probes saw over a window.
type Pacing struct {
	MinPacketsPerSec float64 `json:"min_packets_per_s"`
	JitterP50Ms      float64 `json:"jitter_p50_ms"`
	JitterP99Ms      float64 `json:"jitter_p99_ms"`
	JitterMaxMs      float64 `json:"jitter_max_ms"`
	Streams          int     `json:"streams"`
}

// OnTime is issue 14's bar for a caller's stream: at least 49 packets a
// second, and inter-arrival jitter p99 under 2 ms.
func (p Pacing) OnTime() bool { return p.MinPacketsPerSec >= 49 && p.JitterP99Ms < 2 }

// Measure sums the probes up over window: the jitter of a stream is
// |inter-arrival − 20 ms| per packet, pooled over every probe.
func Measure(probes []*Probe, window time.Duration) Pacing {
	var dev []time.Duration
	res := Pacing{MinPacketsPerSec: -1, Streams: len(probes)}
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

// Worse keeps the worst of cur and w, field by field; first says cur is
// not set yet.
func Worse(cur, w Pacing, first bool) Pacing {
	if first {
		return w
	}
	cur.MinPacketsPerSec = min(cur.MinPacketsPerSec, w.MinPacketsPerSec)
	cur.JitterP50Ms = max(cur.JitterP50Ms, w.JitterP50Ms)
	cur.JitterP99Ms = max(cur.JitterP99Ms, w.JitterP99Ms)
	cur.JitterMaxMs = max(cur.JitterMaxMs, w.JitterMaxMs)
	return cur
}

// Close closes every probe, which ends their Read loops.
func Close(probes []*Probe) {
	for _, p := range probes {
		p.Conn.Close()
	}
}

// Median of a handful of values; 0 for none.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// Count is how many packets arrived since the last Reset.
func (p *Probe) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.at)
}
