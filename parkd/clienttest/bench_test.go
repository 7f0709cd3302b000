package clienttest_test

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/clienttest"
)

// The HTTP API benchmarks of issue 9 ("Speed") run a real daemon in the
// test process (clienttest.Start: SIP on 127.0.0.1, the API on loopback)
// and place calls with a raw-UDP SIP client (sipclient_test.go): INVITE, ACK,
// BYE and the 200s to parkd's requests are written by hand from the
// messages' own headers, so a thousand calls cost the client almost
// nothing. Commands and figures: docs/PERFORMANCE.md, "HTTP API (issue 9)".
//
//	go test -run x -bench APISlots1000 -benchtime 2000x ./parkd/clienttest/
//	go test -run x -bench APIEventFanout -benchtime 200x ./parkd/clienttest/
//	go test -run x -bench APIActionsUnderSIPLoad -benchtime 1x ./parkd/clienttest/
//
// or bench/api_bench.sh for three runs of each on a quiet machine.

// benchRTPPorts gives the daemon 2,000 RTP ports (even ones only), clear
// of the ranges every test and bench/park_load.sh use.
const benchRTPPorts = "50000-53999"

// startBench runs a daemon for a benchmark: no RTP timeout (the raw client
// sends no audio), recalls an hour away, and the lots edit sets.
func startBench(b *testing.B, sip *sipClient, lots func(*parkd.Config)) *clienttest.Daemon {
	d := clienttest.Start(b, func(cfg *parkd.Config) {
		cfg.RTP.Ports = benchRTPPorts
		cfg.RTP.Timeout = 0
		hour := parkd.Duration(time.Hour)
		cfg.Defaults.RecallAfter = &hour
		// The load comes from one address, far past sip.rate_limit's
		// per-source default (200/s): without this the daemon sheds most
		// of it with 503 and the benchmark measures the limiter.
		cfg.SIP.RateLimit.PerSource = "0"
		lots(cfg)
	})
	// Daemon.Events is a buffered subscription nobody reads here: drain it
	// so parkd does not log a dropped event per change.
	go func() {
		for range d.Events {
		}
	}()
	sip.connect(b, d.UDP)
	// Stop the daemon before the client's sockets close (cleanups run last
	// registered first), so the BYEs of its shutdown are answered.
	b.Cleanup(d.Shutdown)
	return d
}

// oneLot is a lot of 1,000 slots, 1000–1999, parked into at 700.
func oneLot(cfg *parkd.Config) {
	l := parkd.DefaultLot()
	l.Name, l.Extension, l.RetrieveExtension, l.Slots = "bench", "700", "", "1000-1999"
	l.AttendantExtension = ""
	cfg.Lots = []parkd.LotConfig{l}
}

// ------------------------------------------------ 1. GET /slots, 1,000 parked

// cpuWatch measures, over a benchmark's timed part, the CPU this process
// used (daemon and clients together) and what every other process on the
// machine used, both in % of one core: a shared VM's neighbours show up
// in the second figure, so a noisy run can be told from a slow daemon.
type cpuWatch struct {
	busy, self uint64 // clock ticks
	at         time.Time
}

func startCPU() cpuWatch {
	busy, self := cpuTicks()
	return cpuWatch{busy: busy, self: self, at: time.Now()}
}

func (w cpuWatch) report(b *testing.B) {
	busy, self := cpuTicks()
	if busy == 0 || self == 0 {
		return // not Linux
	}
	secs := time.Since(w.at).Seconds() * 100 // USER_HZ ticks in the run
	others := float64(busy-w.busy) - float64(self-w.self)
	b.ReportMetric(float64(self-w.self)/secs*100, "self-cpu%")
	b.ReportMetric(max(others, 0)/secs*100, "others-cpu%")
}

// openFDs counts this process's open file descriptors (0 if unknown).
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(entries)
}

// cpuTicks reads the machine's busy ticks (/proc/stat) and this
// process's (/proc/self/stat utime+stime).
func cpuTicks() (busy, self uint64) {
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		f := strings.Fields(line)
		for i, v := range f[1:] {
			if n, err := strconv.ParseUint(v, 10, 64); err == nil && i != 3 && i != 4 && i < 8 { // not idle, iowait, guest
				busy += n
			}
		}
	}
	if data, err := os.ReadFile("/proc/self/stat"); err == nil {
		_, rest, _ := strings.Cut(string(data), ") ")
		f := strings.Fields(rest)
		if len(f) > 12 {
			u, _ := strconv.ParseUint(f[11], 10, 64)
			s, _ := strconv.ParseUint(f[12], 10, 64)
			self = u + s
		}
	}
	return busy, self
}

// reportMs reports the p50 and p99 of ds in milliseconds.
func reportMs(b *testing.B, prefix string, ds []time.Duration) {
	if len(ds) == 0 {
		b.Fatalf("no %ssamples", prefix)
	}
	slices.Sort(ds)
	b.ReportMetric(quantile(ds, 0.5), prefix+"p50-ms")
	b.ReportMetric(quantile(ds, 0.99), prefix+"p99-ms")
}

func q99(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return quantile(ds, 0.99)
}

// quantile of sorted ds, in ms to 0.01 ms.
func quantile(ds []time.Duration, p float64) float64 {
	return float64(ds[int(p*float64(len(ds)-1))].Microseconds()/10) / 100
}

// ---------------------------------------------------- the raw SIP client
