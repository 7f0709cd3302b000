// Command sipfuzz tries to break a running parkd with hostile SIP while a
// canary call is parked in it, and reports what the daemon survived.
//
// Fuzz mode (the default) sends -n mutated SIP messages at -rate per
// second over UDP and TCP (fresh and reused connections) from several
// 127/8 source addresses. The messages come from a seed corpus of
// realistic requests and responses (INVITE with SDP to the park extension
// and to slots, SUBSCRIBE, OPTIONS, REFER, BYE, CANCEL, ACK, NOTIFY, stray
// responses) broken by mutations (byte flips, truncation, duplicated and
// huge headers, bad Content-Length, SIP versions and CSeq, garbage, deep
// or invalid SDP, host names under .invalid). Message i of seed s is the
// same bytes on every run: -print i shows it, -list lists them, -from and
// -n replay a range.
//
// Flood mode (-flood-options RATE) sends RATE OPTIONS per second over UDP
// for -duration instead.
//
// In both modes a canary call to -canary-ext (a lot the corpus never
// names) stays parked throughout; sipfuzz counts the music on hold it
// receives, samples the daemon's RSS (/proc/PID/status) and log size, and
// prints a report (-json for JSON). It exits 1 when the daemon died, the
// canary heard no music for longer than -max-silence or was unparked, or
// RSS passed -max-rss-mib; 2 on a usage or setup error.
//
// Run it only against a daemon in a private network namespace
// (bench/fuzz_campaign.sh does that): the corpus names hosts the daemon
// must never resolve.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command: 0 pass, 1 fail, 2 usage or setup error.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "sipfuzz:", err)
		}
		return 2
	}
	switch {
	case o.print >= 0:
		printMessage(o, stdout, stderr)
		return 0
	case o.list:
		listMessages(o, stdout)
		return 0
	case o.pid <= 0:
		fmt.Fprintln(stderr, "sipfuzz: -pid is required: the daemon's process id")
		return 2
	}
	level := slog.LevelError
	if o.verbose {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log) // sipgo logs through the default logger
	info := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	rg, err := setUp(ctx, o, log, info)
	if err != nil {
		fmt.Fprintln(stderr, "sipfuzz:", err)
		return 2
	}
	defer rg.close()
	r := rg.measure(ctx, o, info)
	r.judge(limits{maxSilence: o.maxSilence, maxRSSKiB: int64(o.maxRSSMiB) * 1024})
	if o.jsonOut {
		_ = r.writeJSON(stdout)
	} else {
		r.writeText(stdout)
	}
	if o.jsonFile != "" {
		if err := writeJSONFile(o.jsonFile, r); err != nil {
			fmt.Fprintln(stderr, "sipfuzz:", err)
			return 2
		}
	}
	if !r.Pass {
		return 1
	}
	return 0
}

// rig is everything that watches the daemon or talks to it during a run.
type rig struct {
	probe  *daemonProbe
	canary *canary // nil with -canary-ext ""
	stats  *traffic
	sender *sender
	decoys *decoys
	dns    *dnsCatcher // nil when DNS is not watched
	target Target      // with the source addresses really bound
}

// setUp checks the daemon runs, parks the canary and opens every socket.
func setUp(ctx context.Context, o options, log *slog.Logger, info func(string, ...any)) (*rig, error) {
	rg := &rig{probe: &daemonProbe{pid: o.pid, logPath: o.logPath}, stats: newTraffic(), target: o.target()}
	if err := rg.probe.start(); err != nil {
		return nil, err
	}
	if o.canaryExt != "" {
		can, err := placeCanary(ctx, canaryConfig{
			IP:       o.canaryIP,
			RTPPorts: o.canaryPorts,
			Target:   fmt.Sprintf("sip:%s@%s", o.canaryExt, o.daemon),
			Log:      log,
		})
		if err != nil {
			return nil, err
		}
		rg.canary = can
		info("canary parked (Call-ID %s)", can.callID())
	}
	snd, err := newSender(o.daemon, o.sourceIPs, rg.stats, log)
	if err != nil {
		rg.close()
		return nil, fmt.Errorf("sources: %w", err)
	}
	rg.sender = snd
	rg.target.SourceIPs = snd.sourceIPs()
	var phoneIPs []netip.Addr
	for _, src := range snd.sources {
		if src.ip != o.daemon.Addr() {
			phoneIPs = append(phoneIPs, src.ip)
		}
	}
	rg.decoys = startDecoys(phoneIPs, rg.stats, log)
	if len(o.dnsAddrs) > 0 {
		if rg.dns, err = startDNSCatcher(o.dnsAddrs); err != nil {
			// Port 53 needs privilege: without it the run goes on, and the
			// report says DNS was not watched.
			info("not watching DNS: %v", err)
			rg.dns = nil
		}
	}
	return rg, nil
}

// close releases what setUp opened; it may be called more than once.
func (rg *rig) close() {
	if rg.sender != nil {
		rg.sender.close()
	}
	if rg.decoys != nil {
		rg.decoys.close()
		rg.decoys = nil
	}
	if rg.dns != nil {
		rg.dns.close()
		rg.dns = nil
	}
	if rg.canary != nil {
		rg.canary.hangup()
		rg.canary = nil
	}
}

// measure watches a warm-up, sends (fuzz or flood), watches the settle
// time and gathers the report.
func (rg *rig) measure(ctx context.Context, o options, info func(string, ...any)) *Report {
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watching := make(chan struct{}, 2)
	go func() { rg.probe.run(watchCtx, 100*time.Millisecond); watching <- struct{}{} }()
	if rg.canary != nil {
		go func() { rg.canary.watch(watchCtx); watching <- struct{}{} }()
	} else {
		watching <- struct{}{}
	}
	sleepCtx(ctx, o.warmup)

	r := &Report{Command: o.commandLine, Sources: rg.target.SourceIPs, SeedKinds: map[string]int{}, Mutations: map[string]int{}}
	start := time.Now()
	if rg.canary != nil {
		rg.canary.startRun(start)
	}
	cpu0 := readCPU(o.pid)
	if o.floodRate > 0 {
		r.Mode, r.Rate = "flood", o.floodRate
		r.Planned = int(float64(o.floodRate) * o.duration.Seconds())
		info("flooding %d OPTIONS/s for %s from %d sources", o.floodRate, o.duration, len(rg.sender.sources))
		floodOptions(ctx, rg.sender, rg.target, o.floodRate, o.duration)
	} else {
		r.Mode, r.Rate, r.Seed, r.Planned = "fuzz", o.rate, o.seed, o.n
		info("sending %d fuzz messages (seed %d, from %d) at %d/s from %d sources", o.n, o.seed, o.from, o.rate, len(rg.sender.sources))
		r.DeathWindow = fuzz(ctx, rg.sender, rg.probe, rg.target, o, r, info)
	}
	r.Seconds = time.Since(start).Seconds()
	r.CPU = readCPU(o.pid).since(cpu0)
	info("sent; watching %s more", o.settle)
	sleepCtx(ctx, o.settle)
	rg.sender.close()
	rg.decoys.close()
	rg.decoys = nil
	r.DNSQueries = -1
	if rg.dns != nil {
		rg.dns.close()
		rg.dns.result(r)
		rg.dns = nil
	}
	switch {
	case rg.canary != nil && o.apiURL != "":
		r.CanaryParked = canaryState(o.apiURL, o.token, rg.canary.callID())
	case rg.canary != nil:
		r.CanaryParked = "unknown (no -api): judged by the music alone"
	default:
		r.CanaryParked = "not checked: no canary"
	}
	stopWatch()
	<-watching
	<-watching

	rg.probe.result(r)
	if rg.canary != nil {
		rg.canary.result(r)
	}
	rg.stats.fill(r)
	if r.Seconds > 0 {
		r.Achieved = float64(r.SentTotal) / r.Seconds
	}
	return r
}

func writeJSONFile(path string, r *Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.writeJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
