package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// rig is N receiver sockets on 127.0.0.1, one per listener. sampled ones
// read with kernel timestamps; the rest never read.
type rig struct {
	recv    []*net.UDPConn
	sampled []*probe
	sent    atomic.Uint64 // packets the sender under test says it sent
	note    string        // a line the sender adds to the report (set before ready)
	ready   chan struct{} // the sender closes it once set up and sending
	wg      sync.WaitGroup
}

// probe is one sampled receiver's record of the measurement window.
type probe struct {
	conn      *net.UDPConn
	recording atomic.Bool
	arrivals  []time.Time // kernel receive times
	seqs      []uint16
}

func newRig(n, sample int) (*rig, error) {
	r := &rig{ready: make(chan struct{})}
	for range n {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			r.close()
			return nil, err
		}
		r.recv = append(r.recv, c)
	}
	sample = min(sample, n)
	for i := range sample {
		// Spread over the index range: listeners early and late in any
		// walk or phase order are both sampled.
		c := r.recv[i*n/sample]
		if err := setTimestamping(c); err != nil {
			r.close()
			return nil, err
		}
		p := &probe{conn: c}
		r.sampled = append(r.sampled, p)
		r.wg.Add(1)
		go func() { defer r.wg.Done(); p.read() }()
	}
	return r, nil
}

func (r *rig) addr(i int) netip.AddrPort {
	return r.recv[i].LocalAddr().(*net.UDPAddr).AddrPort()
}

func (r *rig) close() {
	for _, c := range r.recv {
		c.Close()
	}
	r.wg.Wait()
}

func setTimestamping(c *net.UDPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return err
	}
	return serr
}

func (p *probe) read() {
	buf := make([]byte, 1500)
	oob := make([]byte, 128)
	for {
		n, oobn, _, _, err := p.conn.ReadMsgUDP(buf, oob)
		if err != nil {
			return
		}
		if !p.recording.Load() || n < 12 {
			continue
		}
		at, ok := kernelTime(oob[:oobn])
		if !ok {
			continue
		}
		p.arrivals = append(p.arrivals, at)
		p.seqs = append(p.seqs, binary.BigEndian.Uint16(buf[2:]))
	}
}

func kernelTime(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:]))
			return time.Unix(sec, nsec), true
		}
	}
	return time.Time{}, false
}

// result is one mode's figures over the window.
type result struct {
	name          string
	n             int
	cpuPct        float64 // process CPU as % of one core
	sentPerSec    float64
	minPPS        float64 // the worst sampled stream's packets/s
	p50, p99      time.Duration
	worstP99      time.Duration // the worst sampled stream's own p99
	gaps, doubles int           // sequence jumps and repeats seen by the sample
	send          string        // the sender's own timing, if it reports one
	note          string
}

// measure starts the sender, lets it warm up, then measures the window.
func (r *rig) measure(name string, warm, window time.Duration, start func(ctx context.Context, r *rig) error) (*result, error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- start(ctx, r) }()
	// The window opens warm after the sender is set up and sending, so
	// neither socket setup nor the ramp lands in it.
	select {
	case err := <-errc:
		cancel()
		return nil, fmt.Errorf("%s: %w", name, err)
	case <-r.ready:
	}
	time.Sleep(warm)
	for _, p := range r.sampled {
		p.recording.Store(true)
	}
	sent0, cpu0, t0 := r.sent.Load(), processCPU(), time.Now()
	time.Sleep(window)
	sent1, cpu1, elapsed := r.sent.Load(), processCPU(), time.Since(t0)
	for _, p := range r.sampled {
		p.recording.Store(false)
	}
	cancel()
	sendTiming := ""
	if err := <-errc; err != nil {
		if st, ok := err.(sendTimingReport); ok {
			sendTiming = string(st)
		} else {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	res := &result{
		name:       name,
		n:          len(r.recv),
		cpuPct:     100 * float64(cpu1-cpu0) / float64(elapsed),
		sentPerSec: float64(sent1-sent0) / elapsed.Seconds(),
		minPPS:     -1,
		send:       sendTiming,
		note:       r.note,
	}
	// A short settle lets the last in-flight packets be read before the
	// records are used.
	time.Sleep(50 * time.Millisecond)
	var all []time.Duration
	for _, p := range r.sampled {
		pps := float64(len(p.arrivals)) / elapsed.Seconds()
		if res.minPPS < 0 || pps < res.minPPS {
			res.minPPS = pps
		}
		var dev []time.Duration
		for i := 1; i < len(p.arrivals); i++ {
			d := p.arrivals[i].Sub(p.arrivals[i-1]) - 20*time.Millisecond
			dev = append(dev, max(d, -d))
			switch step := p.seqs[i] - p.seqs[i-1]; {
			case step == 0:
				res.doubles++
			case step != 1:
				res.gaps++
			}
		}
		if len(dev) > 0 {
			slices.Sort(dev)
			res.worstP99 = max(res.worstP99, dev[len(dev)*99/100])
			all = append(all, dev...)
		}
	}
	if len(all) > 0 {
		slices.Sort(all)
		res.p50, res.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return res, nil
}

// sendTimingReport is how a sender hands back its own timing summary.
type sendTimingReport string

func (s sendTimingReport) Error() string { return string(s) }

func (res *result) print() {
	ok := "OK"
	if res.minPPS < 49 || res.p99 >= 2*time.Millisecond || res.worstP99 >= 2*time.Millisecond {
		ok = "MISSED"
	}
	fmt.Printf("%-5s n=%d  cpu %.1f %% of a core  sent %.0f pkt/s (%.1f per listener)  %.2f µs CPU per packet\n",
		res.name, res.n, res.cpuPct, res.sentPerSec, res.sentPerSec/float64(res.n), res.cpuPerPacket())
	fmt.Printf("%-5s receivers (kernel timestamps, %s): min %.1f pkt/s per stream, jitter p50 %.3f ms p99 %.3f ms, worst stream p99 %.3f ms, seq gaps %d doubles %d  [%s: >=49 pkt/s and p99 < 2 ms]\n",
		res.name, "sample", res.minPPS, ms(res.p50), ms(res.p99), ms(res.worstP99), res.gaps, res.doubles, ok)
	if res.note != "" {
		fmt.Printf("%-5s %s\n", res.name, res.note)
	}
	if res.send != "" {
		fmt.Printf("%-5s sender: %s\n", res.name, res.send)
	}
}

// cpuPerPacket is CPU µs per packet sent: unlike % of a core, it does not
// flatter a sender that fell behind and sent less on a starved machine.
func (res *result) cpuPerPacket() float64 {
	if res.sentPerSec == 0 {
		return 0
	}
	return res.cpuPct / 100 * 1e6 / res.sentPerSec
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
