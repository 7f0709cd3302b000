// Command loadgen is a lean SIP load generator for parkd: park-then-
// retrieve pairs over UDP at a set rate, every call sending RTP at 50
// packets/s as phones do, with INVITE→200 latency percentiles, the delay
// of the audio parkd relays between the two calls of every tenth pair
// (each packet carries its send time), and, given the daemon's pid, the
// daemon's CPU per call. sipp cannot offer 1,000 pairs/s with media
// beside the daemon on two cores; this can, pinned to its own core
// (bench/loadgen.sh does the pinning):
//
//	go run ./bench/loadgen -target 127.0.0.1:5060 -rate 1000 -d 20s -pid $(pidof parkd)
//
// A pair: a caller dials the park extension and waits; head later a
// retriever dials the retrieve extension (the longest-waiting call), talks
// for hold and hangs up; parkd then hangs up the parked caller, who
// answers 200. A pair fails on any non-2xx answer, an unanswered request
// (RFC 3261 timers, give-up after -timeout) or a BYE from parkd to the
// retriever.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/parkd/parkd/bench/internal/proccpu"
)

type report struct {
	Target          string         `json:"target"`
	OfferedPerSec   float64        `json:"offered_per_s"`
	AchievedPerSec  float64        `json:"achieved_per_s"`
	Seconds         float64        `json:"seconds"`
	Pairs           int            `json:"pairs"`
	Completed       int            `json:"completed"`
	Failed          int            `json:"failed"`
	Failures        map[string]int `json:"failures,omitempty"`
	Unavailable     uint64         `json:"responses_503"`
	Retransmissions uint64         `json:"retransmissions"`
	// INVITE sent to the 200's arrival at the socket (a kernel stamp):
	// the daemon's latency.
	Park     percentiles `json:"park_invite_200"`
	Retrieve percentiles `json:"retrieve_invite_200"`
	// INVITE sent to the 200 read: the above plus the generator's own
	// delays, when its core is busy sending RTP.
	ParkRead     percentiles `json:"park_invite_200_as_read"`
	RetrieveRead percentiles `json:"retrieve_invite_200_as_read"`
	// A sampled call's packet, sent to its arrival at the other call
	// through parkd's relay (a kernel stamp): what the talkers hear as
	// delay.
	RelayDelay     percentiles `json:"relay_delay"`
	DaemonCPUPct   float64     `json:"daemon_cpu_pct,omitempty"`
	DaemonCPUPerMs float64     `json:"daemon_cpu_ms_per_pair,omitempty"`
}

func main() {
	target := flag.String("target", "127.0.0.1:5060", "parkd's SIP address (UDP)")
	rate := flag.Float64("rate", 200, "pairs started per second")
	dur := flag.Duration("d", 10*time.Second, "how long to start pairs")
	head := flag.Duration("head", 200*time.Millisecond, "from parking a call to the retrieve that follows it")
	hold := flag.Duration("hold", 500*time.Millisecond, "how long a retriever talks before hanging up")
	park := flag.String("park", "700", "the park extension")
	retrieve := flag.String("retrieve", "*700", "the retrieve extension (takes the longest-waiting call)")
	sockets := flag.Int("sockets", 4, "SIP sockets (sources) the pairs are spread over")
	timeout := flag.Duration("timeout", 8*time.Second, "give up on a transaction after this")
	drain := flag.Duration("drain", 15*time.Second, "wait this long after the last pair for the rest to end")
	sendRTP := flag.Bool("rtp", true, "send RTP from every answered call (false: signalling alone)")
	pid := flag.Int("pid", 0, "the daemon's pid, to report its CPU")
	jsonOut := flag.String("json", "", "also write the report to this file")
	profile := flag.String("cpuprofile", "", "write the generator's CPU profile here")
	samplesOut := flag.String("samples", "", "write every answer here: ms since the start it was sent at, role, INVITE→200 ms (arrival), and as read")
	timeEvery := flag.Uint64("time-relay-every", 10, "time the audio relayed to both calls of every Nth pair (0: none)")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fail(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	to, err := netip.ParseAddrPort(*target)
	if err != nil {
		fail(fmt.Errorf("-target: %w", err))
	}
	g := &generator{target: to, park: *park, retrieve: *retrieve, head: *head, hold: *hold, timeout: *timeout, timeEvery: *timeEvery}
	g.rtp.relayed = g.stats.relay
	if err := g.listen(*sockets); err != nil {
		fail(err)
	}
	stopRTP := make(chan struct{})
	go g.rtp.run(stopRTP, *sendRTP)

	cpu0, _ := proccpu.Of(*pid)
	start := time.Now()
	interval := time.Duration(float64(time.Second) / *rate)
	for i := 0; ; i++ {
		next := start.Add(time.Duration(i) * interval)
		if next.Sub(start) >= *dur {
			break
		}
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
		g.startPair()
	}
	sending := time.Since(start)
	cpu1, cpuOK := proccpu.Of(*pid)

	done := make(chan struct{})
	go func() { g.pending.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(*drain):
		g.abandon()
		<-done
	}
	close(stopRTP)

	g.stats.mu.Lock()
	rep := report{
		Target: *target, OfferedPerSec: *rate, Seconds: sending.Seconds(),
		Pairs: int(g.started.Load()), Completed: g.stats.ok, Failed: g.stats.failed, Failures: g.stats.failures,
		Unavailable: g.stats.unavailable.Load(), Retransmissions: g.stats.retransmissions.Load(),
		Park: summarize(g.stats.park), Retrieve: summarize(g.stats.retrieve),
		ParkRead: summarize(g.stats.parkRead), RetrieveRead: summarize(g.stats.retrieveRead),
		RelayDelay: summarize(g.stats.relayed),
	}
	samples := g.stats.samples
	g.stats.mu.Unlock()
	if *samplesOut != "" {
		if err := writeSamples(*samplesOut, start, samples); err != nil {
			fail(err)
		}
	}
	rep.AchievedPerSec = float64(rep.Pairs) / sending.Seconds()
	if cpuOK {
		rep.DaemonCPUPct = 100 * (cpu1 - cpu0).Seconds() / sending.Seconds()
		rep.DaemonCPUPerMs = float64((cpu1 - cpu0).Microseconds()) / 1000 / float64(rep.Pairs)
	}
	print(rep)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fail(err)
		}
	}
	if rep.Failed > 0 {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func print(r report) {
	fmt.Printf("pairs: %d offered at %.0f/s (achieved %.1f/s over %.1f s): %d completed, %d failed; %d 503s, %d retransmissions\n",
		r.Pairs, r.OfferedPerSec, r.AchievedPerSec, r.Seconds, r.Completed, r.Failed, r.Unavailable, r.Retransmissions)
	for _, p := range []struct {
		name string
		p    percentiles
	}{{"park", r.Park}, {"retrieve", r.Retrieve}} {
		fmt.Printf("%s INVITE→200: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%d answered)\n",
			p.name, p.p.P50, p.p.P90, p.p.P99, p.p.Max, p.p.Count)
	}
	fmt.Printf("  as the generator read them: park p99 %.2f ms, max %.2f ms; retrieve p99 %.2f ms, max %.2f ms\n",
		r.ParkRead.P99, r.ParkRead.Max, r.RetrieveRead.P99, r.RetrieveRead.Max)
	if d := r.RelayDelay; d.Count > 0 {
		fmt.Printf("relayed RTP, sent to heard: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%d packets)\n",
			d.P50, d.P90, d.P99, d.Max, d.Count)
	}
	if r.DaemonCPUPct > 0 {
		fmt.Printf("daemon CPU: %.1f %% of a core while starting pairs, %.3f ms per pair\n", r.DaemonCPUPct, r.DaemonCPUPerMs)
	}
	var reasons []string
	for k, v := range r.Failures {
		reasons = append(reasons, fmt.Sprintf("%6d  %s", v, k))
	}
	sort.Sort(sort.Reverse(sort.StringSlice(reasons)))
	for _, s := range reasons[:min(len(reasons), 8)] {
		fmt.Println("  failed:", strings.TrimSpace(s))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/loadgen:", err)
	os.Exit(2)
}

func writeSamples(path string, start time.Time, samples []sample) error {
	var b strings.Builder
	for _, s := range samples {
		fmt.Fprintf(&b, "%.3f %s %.3f %.3f\n", float64(s.sent.Sub(start).Microseconds())/1000, s.role,
			float64(s.latency.Microseconds())/1000, float64(s.read.Microseconds())/1000)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
