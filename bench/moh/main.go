// Command moh measures parkd's music on hold against the kernel's floor on
// the same machine, in one run: N callers, each a UDP receiver on loopback
// that never reads (the kernel drops what overflows its buffer, as for a
// remote phone), except a sample that read every packet with its kernel
// receive timestamp to measure delivery and pacing.
//
//	go run ./bench/moh -n 2000 -d 10s
//
// "floor" sends 172 bytes every 20 ms to each caller from its own connected
// socket with write(2), one sender per CPU; "parkd" is parkd's MOH source
// and sessions (sipcore/media) with no SIP. The two alternate -reps times;
// each window's process CPU (getrusage) is divided by its length. The
// ratio parkd/floor is the figure issue 14 asks to bring to 1.1 or under.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/parkd/parkd/bench/internal/rtpprobe"
	"github.com/parkd/parkd/bench/internal/startat"
)

type window struct {
	Mode       string  `json:"mode"`
	Callers    int     `json:"callers"`
	CPUPercent float64 `json:"cpu_pct"` // of one core
	rtpprobe.Pacing
}

type report struct {
	Callers    int             `json:"callers"`
	CPUs       int             `json:"cpus"`
	Seconds    float64         `json:"window_s"`
	Windows    []window        `json:"windows"`
	FloorCPU   float64         `json:"floor_cpu_pct"` // median of the floor's windows
	ParkdCPU   float64         `json:"parkd_cpu_pct"` // median of parkd's
	Ratio      float64         `json:"ratio"`         // parkd / floor
	ParkdWorst rtpprobe.Pacing `json:"parkd_worst"`   // the worst window's pacing
	FloorWorst rtpprobe.Pacing `json:"floor_worst"`   // ditto
	OnTime     bool            `json:"parkd_on_time"` // every sampled caller ≥ 49 packets/s, jitter p99 < 2 ms, in every window
	FloorOK    bool            `json:"floor_on_time"` // the same for the floor
}

func main() {
	n := flag.Int("n", 2000, "callers (parked calls)")
	d := flag.Duration("d", 10*time.Second, "measurement window")
	warm := flag.Duration("warm", 2*time.Second, "warm-up before each window")
	sample := flag.Int("sample", 50, "callers that read with kernel timestamps")
	reps := flag.Int("reps", 2, "floor/parkd pairs of windows, alternating")
	mode := flag.String("mode", "both", "floor, parkd, both; or, alone, gofloor (the floor through Go's net package) sendto-floor (the floor sending by address on unconnected sockets), epoll-floor (the floor with its sockets watched for input by epoll, as parkd's were before the quiet sweep) or uring-floor (the floor's writes handed to the kernel 64 at a time through io_uring, as parkd's are)")
	ports := flag.String("rtp-ports", "20000-31999", "parkd's RTP port range: below Linux's ephemeral ports (32768-60999), where the receivers are bound")
	jsonOut := flag.String("json", "", "also write the report to this file")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	startAt := flag.Int64("start-at", 0, "Unix time in milliseconds at which the first window's sender starts, each later one warm+d+2s after it: two runs given the same time (one -mode floor, one -mode parkd) measure at the same moments, so the shared machine's noise costs both alike (bench/moh_pair.sh)")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *sample > *n {
		*sample = *n
	}

	probes := make([]*rtpprobe.Probe, 0, *sample)
	targets := make([]netip.AddrPort, 0, *n)
	for range *sample {
		p, err := rtpprobe.New()
		if err != nil {
			fatal(err)
		}
		go p.Read()
		probes = append(probes, p)
		targets = append(targets, p.Addr())
	}
	defer rtpprobe.Close(probes)
	for len(targets) < *n {
		s, err := newSink()
		if err != nil {
			fatal(fmt.Errorf("receiver %d: %w (ulimit -n?)", len(targets)+1, err))
		}
		defer s.Close()
		targets = append(targets, s.LocalAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort())
	}

	rep := report{Callers: *n, CPUs: runtime.NumCPU(), Seconds: d.Seconds(), OnTime: true, FloorOK: true}
	var floorCPU, parkdCPU []float64
	for r := range *reps {
		if *startAt > 0 {
			if err := startat.Wait(os.Stderr, time.UnixMilli(*startAt), r, *warm+*d+2*time.Second); err != nil {
				fatal(fmt.Errorf("%w: setting up the callers took longer", err))
			}
		}
		for _, m := range []string{"floor", "parkd", "gofloor", "sendto-floor", "epoll-floor", "uring-floor"} {
			diagnostic := m == "gofloor" || m == "sendto-floor" || m == "epoll-floor" || m == "uring-floor"
			if *mode != m && (*mode != "both" || diagnostic) {
				continue
			}
			w := measureMode(m, targets, probes, *ports, *warm, *d)
			fmt.Fprintf(os.Stderr, "rep %d %-5s %5d callers: CPU %6.1f %% of a core; sampled callers: min %.1f packets/s, jitter p50 %.2f p99 %.2f max %.2f ms\n",
				r+1, m, *n, w.CPUPercent, w.MinPacketsPerSec, w.JitterP50Ms, w.JitterP99Ms, w.JitterMaxMs)
			rep.Windows = append(rep.Windows, w)
			if diagnostic {
				continue // printed and listed, not summed up
			}
			ok := w.OnTime()
			if m == "floor" {
				floorCPU = append(floorCPU, w.CPUPercent)
				rep.FloorOK = rep.FloorOK && ok
				rep.FloorWorst = rtpprobe.Worse(rep.FloorWorst, w.Pacing, len(floorCPU) == 1)
			} else {
				parkdCPU = append(parkdCPU, w.CPUPercent)
				rep.OnTime = rep.OnTime && ok
				rep.ParkdWorst = rtpprobe.Worse(rep.ParkdWorst, w.Pacing, len(parkdCPU) == 1)
			}
		}
	}
	rep.FloorCPU, rep.ParkdCPU = rtpprobe.Median(floorCPU), rtpprobe.Median(parkdCPU)
	if rep.FloorCPU > 0 && rep.ParkdCPU > 0 {
		rep.Ratio = rep.ParkdCPU / rep.FloorCPU
	}
	fmt.Fprintf(os.Stderr, "%d callers: floor %.1f %%, parkd %.1f %% of a core (medians): ratio %.2f; parkd on time: %v, floor on time: %v\n",
		*n, rep.FloorCPU, rep.ParkdCPU, rep.Ratio, rep.OnTime, rep.FloorOK)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fatal(err)
		}
	}
}

// measureMode runs one sender for warm + d and measures the last d.
func measureMode(mode string, targets []netip.AddrPort, probes []*rtpprobe.Probe, ports string, warm, d time.Duration) window {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	switch mode {
	case "gofloor":
		f, err := newGoFloor(targets)
		if err != nil {
			fatal(fmt.Errorf("gofloor: %w (ulimit -n?)", err))
		}
		defer f.close()
		go func() { f.run(ctx); close(done) }()
	case "floor", "sendto-floor", "epoll-floor", "uring-floor":
		f, err := newFloor(targets, mode != "sendto-floor", mode == "epoll-floor")
		if err != nil {
			fatal(fmt.Errorf("floor: %w (ulimit -n?)", err))
		}
		f.batched = mode == "uring-floor"
		defer f.close()
		go func() { f.run(ctx); close(done) }()
	default:
		m, err := newParkdMOH(targets, ports)
		if err != nil {
			fatal(fmt.Errorf("parkd: %w", err))
		}
		defer m.close()
		go func() { m.run(ctx); close(done) }()
	}
	time.Sleep(warm)
	for _, p := range probes {
		p.Reset()
	}
	c0, t0 := cpuTime(), time.Now()
	time.Sleep(d)
	c1, t1 := cpuTime(), time.Now()
	pace := rtpprobe.Measure(probes, t1.Sub(t0))
	cancel()
	<-done
	time.Sleep(200 * time.Millisecond) // the last packets land before the next mode's warm-up
	return window{Mode: mode, Callers: len(targets), CPUPercent: 100 * float64(c1-c0) / float64(t1.Sub(t0)), Pacing: pace}
}
