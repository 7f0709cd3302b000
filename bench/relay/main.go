// Command relay measures parkd's RTP relay against the kernel's floor on
// the same machine, in one run: N bridged calls, each two phones sending
// 50 packets/s of G.711 from their own sockets to two relay sockets, which
// pass each packet on to the other phone. The relay runs in a child
// process pinned to one core and the phones in this one, pinned to the
// other, so the child's CPU (/proc/PID/stat) is the relay's alone, the
// kernel's delivery of what it sends included.
//
//	go run ./bench/relay -n 500 -d 6s
//
// "floor" is the least a relay can do: connected sockets in one epoll set,
// one read(2) and one write(2) per packet, nothing looked at. "parkd" is
// sipcore/media's bridge as the daemon runs it, without SIP. The two
// alternate -reps times; the ratio of the medians is the relay's share of
// issue 14's call-setup target (1,000 pairs/s on one core), whose calls
// spend most of their life bridged.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/parkd/parkd/bench/internal/proccpu"
	"github.com/parkd/parkd/bench/internal/rtpprobe"
	"github.com/parkd/parkd/bench/internal/startat"
)

type window struct {
	Mode       string  `json:"mode"`
	Calls      int     `json:"calls"`
	CPUPercent float64 `json:"cpu_pct"` // of one core
	// USPerPacket is the relay's CPU per packet the phones sent it.
	USPerPacket float64 `json:"us_per_packet"`
	Relayed     uint64  `json:"relayed"` // over the child's life, warm-up included
	rtpprobe.Pacing
}

type report struct {
	Calls      int             `json:"calls"`
	CPUs       int             `json:"cpus"`
	Seconds    float64         `json:"window_s"`
	Windows    []window        `json:"windows"`
	FloorCPU   float64         `json:"floor_cpu_pct"` // median of the floor's windows
	ParkdCPU   float64         `json:"parkd_cpu_pct"` // median of parkd's
	FloorUS    float64         `json:"floor_us_per_packet"`
	ParkdUS    float64         `json:"parkd_us_per_packet"`
	Ratio      float64         `json:"ratio"` // parkd / floor
	ParkdWorst rtpprobe.Pacing `json:"parkd_worst"`
	FloorWorst rtpprobe.Pacing `json:"floor_worst"`
	Delivered  bool            `json:"parkd_delivered"` // every sampled phone ≥ 49 packets/s in every window
}

type config struct {
	calls      int
	warm, d    time.Duration
	ports      string
	relayCPU   int
	self       string
	phoneAddrs []netip.AddrPort
}

func main() {
	n := flag.Int("n", 500, "bridged calls (two phones and two relay sockets each)")
	d := flag.Duration("d", 6*time.Second, "measurement window")
	warm := flag.Duration("warm", 2*time.Second, "warm-up before each window")
	sample := flag.Int("sample", 20, "phones that read what is relayed to them, with kernel timestamps")
	reps := flag.Int("reps", 2, "floor/parkd pairs of windows, alternating")
	mode := flag.String("mode", "both", "floor, parkd or both")
	ports := flag.String("rtp-ports", "20000-31999", "parkd's RTP port range: below Linux's ephemeral ports, where the phones are bound")
	relayCPU := flag.Int("relay-cpu", 0, "the core the relay is pinned to (taskset); -1 leaves it free")
	phoneCPU := flag.Int("phone-cpu", 1, "the core the phones are pinned to; -1 leaves them free")
	jsonOut := flag.String("json", "", "also write the report to this file")
	startAt := flag.Int64("start-at", 0, "Unix time in milliseconds at which the first window's relay starts, each later one warm+d+5s after it: two runs of one -mode given the same time (two builds' relays) measure at the same moments, so the shared machine's noise costs both alike")
	serveMode := flag.String("serve", "", "run as the relay child (floor or parkd); set by the parent")
	flag.Parse()
	if *serveMode != "" {
		serve(*serveMode, *ports)
		return
	}
	if *startAt > 0 && *mode == "both" {
		fatal(fmt.Errorf("-start-at times one mode's windows: give -mode floor or parkd"))
	}
	self, err := os.Executable()
	if err != nil {
		fatal(err)
	}
	if *phoneCPU >= 0 && *relayCPU >= 0 && os.Getenv("RELAY_BENCH_PINNED") == "" {
		pinSelf(self, *phoneCPU) // returns only when taskset is missing
	}

	ph, err := openPhones(2**n, *sample)
	if err != nil {
		fatal(fmt.Errorf("phones: %w (ulimit -n?)", err))
	}
	defer ph.close()
	addrs, err := ph.addrs()
	if err != nil {
		fatal(err)
	}
	cfg := config{calls: *n, warm: *warm, d: *d, ports: *ports, relayCPU: *relayCPU, self: self, phoneAddrs: addrs}

	cpus := runtime.NumCPU()
	if v, err := strconv.Atoi(os.Getenv("RELAY_BENCH_PINNED")); err == nil {
		cpus = v // what the machine has, not the one core we are pinned to
	}
	rep := report{Calls: *n, CPUs: cpus, Seconds: d.Seconds(), Delivered: true}
	var floorCPU, parkdCPU []float64
	for r := range *reps {
		for _, m := range []string{"floor", "parkd"} {
			if *mode != m && *mode != "both" {
				continue
			}
			if *startAt > 0 {
				if err := startat.Wait(os.Stderr, time.UnixMilli(*startAt), r, *warm+*d+5*time.Second); err != nil {
					fatal(fmt.Errorf("%w: opening the phones took longer", err))
				}
			}
			w, err := measure(cfg, m, ph)
			if err != nil {
				fatal(fmt.Errorf("%s: %w", m, err))
			}
			fmt.Fprintf(os.Stderr, "rep %d %-5s %5d calls: CPU %6.1f %% of a core, %.2f µs per packet; sampled phones: min %.1f packets/s, jitter p50 %.2f p99 %.2f max %.2f ms\n",
				r+1, m, *n, w.CPUPercent, w.USPerPacket, w.MinPacketsPerSec, w.JitterP50Ms, w.JitterP99Ms, w.JitterMaxMs)
			rep.Windows = append(rep.Windows, w)
			if m == "floor" {
				floorCPU = append(floorCPU, w.CPUPercent)
				rep.FloorWorst = rtpprobe.Worse(rep.FloorWorst, w.Pacing, len(floorCPU) == 1)
			} else {
				parkdCPU = append(parkdCPU, w.CPUPercent)
				rep.Delivered = rep.Delivered && w.MinPacketsPerSec >= 49
				rep.ParkdWorst = rtpprobe.Worse(rep.ParkdWorst, w.Pacing, len(parkdCPU) == 1)
			}
		}
	}
	rep.FloorCPU, rep.ParkdCPU = rtpprobe.Median(floorCPU), rtpprobe.Median(parkdCPU)
	rep.FloorUS, rep.ParkdUS = usPerPacket(rep.FloorCPU, 2**n), usPerPacket(rep.ParkdCPU, 2**n)
	if rep.FloorCPU > 0 && rep.ParkdCPU > 0 {
		rep.Ratio = rep.ParkdCPU / rep.FloorCPU
	}
	fmt.Fprintf(os.Stderr, "%d calls: floor %.1f %% (%.2f µs per packet), parkd %.1f %% (%.2f µs) of a core (medians): ratio %.2f; parkd delivered: %v\n",
		*n, rep.FloorCPU, rep.FloorUS, rep.ParkdCPU, rep.ParkdUS, rep.Ratio, rep.Delivered)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fatal(err)
		}
	}
	if !rep.Delivered && (*mode == "both" || *mode == "parkd") {
		os.Exit(1)
	}
}

// measure starts a relay child of mode, sends through it for warm + d and
// measures the child's CPU over the last d.
func measure(cfg config, mode string, ph *phones) (window, error) {
	args := []string{cfg.self, "-serve", mode, "-rtp-ports", cfg.ports}
	if cfg.relayCPU >= 0 {
		if tp, err := exec.LookPath("taskset"); err == nil {
			args = append([]string{tp, "-c", strconv.Itoa(cfg.relayCPU)}, args...)
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return window{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return window{}, err
	}
	if err := cmd.Start(); err != nil {
		return window{}, err
	}
	defer cmd.Wait()
	defer stdin.Close()

	var list strings.Builder
	for _, a := range cfg.phoneAddrs {
		list.WriteString(a.String() + "\n")
	}
	list.WriteString("\n")
	if _, err := io.WriteString(stdin, list.String()); err != nil {
		return window{}, err
	}
	out := bufio.NewScanner(stdout)
	var relay []netip.AddrPort
	for out.Scan() && out.Text() != "ready" {
		ap, err := netip.ParseAddrPort(out.Text())
		if err != nil {
			return window{}, fmt.Errorf("relay child said %q", out.Text())
		}
		relay = append(relay, ap)
	}
	if len(relay) != len(cfg.phoneAddrs) {
		return window{}, fmt.Errorf("relay child gave %d addresses for %d phones", len(relay), len(cfg.phoneAddrs))
	}
	if err := ph.connect(relay); err != nil {
		return window{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	sent := make(chan struct{})
	go func() { ph.send(ctx); close(sent) }()

	time.Sleep(cfg.warm)
	for _, p := range ph.probes {
		p.Reset()
	}
	c0, ok0 := proccpu.Of(cmd.Process.Pid)
	t0 := time.Now()
	time.Sleep(cfg.d)
	c1, ok1 := proccpu.Of(cmd.Process.Pid)
	t1 := time.Now()
	pace := rtpprobe.Measure(ph.probes, t1.Sub(t0))
	cancel()
	<-sent
	if !ok0 || !ok1 {
		return window{}, fmt.Errorf("cannot read the relay child's CPU time")
	}
	stdin.Close()
	var relayed uint64
	for out.Scan() {
		if v, ok := strings.CutPrefix(out.Text(), "relayed "); ok {
			relayed, _ = strconv.ParseUint(v, 10, 64)
		}
	}
	cpu := 100 * float64(c1-c0) / float64(t1.Sub(t0))
	time.Sleep(200 * time.Millisecond) // the last packets land before the next window's warm-up
	return window{
		Mode: mode, Calls: cfg.calls, CPUPercent: cpu, Relayed: relayed, Pacing: pace,
		USPerPacket: usPerPacket(cpu, len(cfg.phoneAddrs)),
	}, nil
}

// usPerPacket is the relay's CPU per packet when it uses cpuPct of a core
// while phones each send it 50 packets a second.
func usPerPacket(cpuPct float64, phones int) float64 {
	return cpuPct / 100 / float64(phones*50) * 1e6
}

// pinSelf runs this program again under taskset on cpu, and exits with its
// status; without taskset it returns and the phones run unpinned.
func pinSelf(self string, cpu int) {
	tp, err := exec.LookPath("taskset")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/relay: taskset not found; the phones run unpinned")
		return
	}
	cmd := exec.Command(tp, append([]string{"-c", strconv.Itoa(cpu), self}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "RELAY_BENCH_PINNED="+strconv.Itoa(runtime.NumCPU()))
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		fatal(err)
	}
	os.Exit(0)
}

func fatal(err error) {
	os.Stderr.WriteString("bench/relay: " + err.Error() + "\n")
	os.Exit(2)
}
