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
// same bytes on every run: -print i shows it, -from and -n replay a range.
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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	sip         string
	pid         int
	logPath     string
	seed        uint64
	n, from     int
	rate        int
	sources     string
	park        string
	slots       string
	retrieve    string
	canaryExt   string
	canaryIP    string
	canaryRTP   string
	apiURL      string
	token       string
	tokenFile   string
	maxSilence  time.Duration
	maxRSSMiB   int
	floodRate   int
	duration    time.Duration
	settle      time.Duration
	warmup      time.Duration
	jsonOut     bool
	jsonFile    string
	dnsListen   string
	print       int
	list        bool
	verbose     bool
	commandLine string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("sipfuzz", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.sip, "sip", "127.0.0.1:5060", "the daemon's SIP `HOST:PORT` (UDP and TCP)")
	fs.IntVar(&o.pid, "pid", 0, "the daemon's `PID`, for liveness and RSS")
	fs.StringVar(&o.logPath, "log", "", "the daemon's log `FILE`, to measure its growth")
	fs.Uint64Var(&o.seed, "seed", 1, "campaign seed: the same seed sends the same messages")
	fs.IntVar(&o.n, "n", 10000, "messages to send (fuzz mode)")
	fs.IntVar(&o.from, "from", 0, "index of the first message (replay a range with -n)")
	fs.IntVar(&o.rate, "rate", 200, "messages per second (fuzz mode)")
	fs.StringVar(&o.sources, "sources", "127.0.0.2-127.0.0.5", "source `IPS`: comma-separated addresses or FIRST-LAST ranges")
	fs.StringVar(&o.park, "park", "700", "the fuzzed lot's park extension")
	fs.StringVar(&o.slots, "slots", "701-720", "the fuzzed lot's slots, FIRST-LAST")
	fs.StringVar(&o.retrieve, "retrieve", "*700", "the fuzzed lot's retrieve extension")
	fs.StringVar(&o.canaryExt, "canary-ext", "9990", "park extension of the canary's own lot (\"\": no canary)")
	fs.StringVar(&o.canaryIP, "canary-ip", "127.0.0.1", "the canary's address (keep it apart from -sources)")
	fs.StringVar(&o.canaryRTP, "canary-rtp", "46000-46019", "the canary's RTP ports, LOW-HIGH")
	fs.StringVar(&o.apiURL, "api", "", "the daemon's API `URL`, to check the canary is still parked")
	fs.StringVar(&o.token, "token", "", "API token")
	fs.StringVar(&o.tokenFile, "token-file", "", "read the API token from `FILE` (the data directory's token)")
	fs.DurationVar(&o.maxSilence, "max-silence", time.Second, "fail when the canary hears no music for longer")
	fs.IntVar(&o.maxRSSMiB, "max-rss-mib", 0, "fail when the daemon's RSS peaks above this (0: report only)")
	fs.IntVar(&o.floodRate, "flood-options", 0, "flood mode: send `RATE` OPTIONS per second instead of fuzzing")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long the flood lasts")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "keep watching this long after the last message")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "watch the canary this long before sending")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	fs.StringVar(&o.jsonFile, "json-file", "", "also write the JSON report to `FILE`")
	fs.IntVar(&o.print, "print", -1, "print message `INDEX` of -seed (its description to stderr, its bytes to stdout) and exit")
	fs.StringVar(&o.dnsListen, "dns-listen", "", "stand in for the name servers at `ADDRS` (IP:PORT, comma-separated): count the daemon's queries, answer NXDOMAIN")
	fs.BoolVar(&o.list, "list", false, "list messages -from..-from+n of -seed (index, seed kind, mutations, transport, source, size) and exit")
	fs.BoolVar(&o.verbose, "v", false, "log the canary's SIP warnings")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.n < 0 || o.rate <= 0 || o.from < 0 || o.floodRate < 0 || o.duration <= 0 {
		return o, errors.New("-n, -from, -flood-options must not be negative; -rate and -duration must be positive")
	}
	o.commandLine = "sipfuzz " + strings.Join(args, " ")
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "sipfuzz:", err)
		}
		return 2
	}
	daemon, err := netip.ParseAddrPort(o.sip)
	if err != nil {
		fmt.Fprintf(stderr, "sipfuzz: -sip %q: want IP:PORT\n", o.sip)
		return 2
	}
	ips, err := parseIPs(o.sources)
	if err != nil {
		fmt.Fprintln(stderr, "sipfuzz: -sources:", err)
		return 2
	}
	slots, err := expandRange(o.slots)
	if err != nil {
		fmt.Fprintln(stderr, "sipfuzz: -slots:", err)
		return 2
	}
	target := Target{Host: daemon.Addr().String(), Port: int(daemon.Port()), ParkExt: o.park, Slots: slots, Retrieve: o.retrieve}
	for _, ip := range ips {
		target.SourceIPs = append(target.SourceIPs, ip.String())
	}
	if o.print >= 0 {
		m := Generate(o.seed, o.print, target)
		fmt.Fprintf(stderr, "message %d of seed %d: %s, mutations %v, %s from %s, %d bytes\n",
			m.Index, o.seed, m.Kind, m.Mutations, m.Transport, target.SourceIPs[m.Source], len(m.Bytes))
		_, _ = stdout.Write(m.Bytes)
		return 0
	}
	if o.list {
		for i := o.from; i < o.from+o.n; i++ {
			m := Generate(o.seed, i, target)
			muts := strings.Join(m.Mutations, "+")
			if muts == "" {
				muts = "-"
			}
			host := "ip"
			if bytes.Contains(m.Bytes, []byte(".invalid")) {
				host = ".invalid"
			}
			fmt.Fprintf(stdout, "%d\t%s\t%s\t%s\t%s\t%s\t%d\n", m.Index, m.Kind, muts, m.Transport, target.SourceIPs[m.Source], host, len(m.Bytes))
		}
		return 0
	}
	if o.pid <= 0 {
		fmt.Fprintln(stderr, "sipfuzz: -pid is required: the daemon's process id")
		return 2
	}
	level := slog.LevelError
	if o.verbose {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// sipgo logs through the default logger.
	slog.SetDefault(log)
	info := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	probe := &daemonProbe{pid: o.pid, logPath: o.logPath}
	if err := probe.start(); err != nil {
		fmt.Fprintln(stderr, "sipfuzz:", err)
		return 2
	}
	token := o.token
	if token == "" && o.tokenFile != "" {
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			fmt.Fprintln(stderr, "sipfuzz:", err)
			return 2
		}
		token = strings.TrimSpace(string(b))
	}

	var can *canary
	if o.canaryExt != "" {
		lo, hi, err := parsePortRange(o.canaryRTP)
		if err != nil {
			fmt.Fprintln(stderr, "sipfuzz: -canary-rtp:", err)
			return 2
		}
		can, err = placeCanary(ctx, canaryConfig{
			IP:       o.canaryIP,
			RTPPorts: [2]int{lo, hi},
			Target:   fmt.Sprintf("sip:%s@%s", o.canaryExt, daemon),
			Log:      log,
		})
		if err != nil {
			fmt.Fprintln(stderr, "sipfuzz:", err)
			return 2
		}
		defer can.hangup()
		info("canary parked (Call-ID %s)", can.callID())
	}

	stats := newTraffic()
	snd, err := newSender(daemon, ips, stats, log)
	if err != nil {
		fmt.Fprintln(stderr, "sipfuzz: sources:", err)
		return 2
	}
	target.SourceIPs = snd.sourceIPs() // what was really bound
	defer snd.close()
	var phoneIPs []netip.Addr
	for _, src := range snd.sources {
		if src.ip != daemon.Addr() {
			phoneIPs = append(phoneIPs, src.ip)
		}
	}
	dec := startDecoys(phoneIPs, stats, log)
	var dns *dnsCatcher
	if o.dnsListen != "" {
		var addrs []netip.AddrPort
		for a := range strings.SplitSeq(o.dnsListen, ",") {
			ap, err := netip.ParseAddrPort(strings.TrimSpace(a))
			if err != nil {
				fmt.Fprintf(stderr, "sipfuzz: -dns-listen %q: want IP:PORT\n", a)
				return 2
			}
			addrs = append(addrs, ap)
		}
		if dns, err = startDNSCatcher(addrs); err != nil {
			// Port 53 needs privilege: without it the run goes on, and the
			// report says DNS was not watched.
			info("not watching DNS: %v", err)
			dns = nil
		}
	}

	watchCtx, stopWatch := context.WithCancel(context.Background())
	watchDone := make(chan struct{}, 2)
	go func() { probe.run(watchCtx, 100*time.Millisecond); watchDone <- struct{}{} }()
	if can != nil {
		go func() { can.watch(watchCtx); watchDone <- struct{}{} }()
	} else {
		watchDone <- struct{}{}
	}
	sleepCtx(ctx, o.warmup)

	r := &Report{Command: o.commandLine, Sources: target.SourceIPs, SeedKinds: map[string]int{}, Mutations: map[string]int{}}
	start := time.Now()
	if can != nil {
		can.startRun(start)
	}
	cpu0 := readCPU(o.pid)
	if o.floodRate > 0 {
		r.Mode, r.Rate = "flood", o.floodRate
		r.Planned = int(float64(o.floodRate) * o.duration.Seconds())
		info("flooding %d OPTIONS/s for %s from %d sources", o.floodRate, o.duration, len(ips))
		floodOptions(ctx, snd, target, o.floodRate, o.duration)
	} else {
		r.Mode, r.Rate, r.Seed, r.Planned = "fuzz", o.rate, o.seed, o.n
		info("sending %d fuzz messages (seed %d, from %d) at %d/s from %d sources", o.n, o.seed, o.from, o.rate, len(ips))
		r.DeathWindow = fuzz(ctx, snd, probe, target, o, r, info)
	}
	r.Seconds = time.Since(start).Seconds()
	r.CPU = readCPU(o.pid).since(cpu0)
	info("sent; watching %s more", o.settle)
	sleepCtx(ctx, o.settle)
	snd.close()
	dec.close()
	r.DNSQueries = -1
	if dns != nil {
		dns.close()
		dns.result(r)
	}

	if can != nil && o.apiURL != "" {
		r.CanaryParked = canaryState(o.apiURL, token, can.callID())
	} else if can != nil {
		r.CanaryParked = "unknown (no -api): judged by the music alone"
	} else {
		r.CanaryParked = "not checked: no canary"
	}
	stopWatch()
	<-watchDone
	<-watchDone

	probe.result(r)
	if can != nil {
		can.result(r)
	}
	stats.mu.Lock()
	r.Sent, r.SendFailed, r.Received, r.BytesSent = stats.sent, stats.failed, stats.received, stats.bytesSent
	r.ToPhones, r.JunkSamples, r.Statuses = stats.toPhones, stats.junk, stats.statuses
	r.ToPhonesTx = map[string]int{}
	for method, set := range stats.phoneTx {
		r.ToPhonesTx[method] = len(set)
	}
	for _, v := range r.Sent {
		r.SentTotal += v
	}
	stats.mu.Unlock()
	r.TCPClosed = stats.tcpClosed.Load()
	if r.Seconds > 0 {
		r.Achieved = float64(r.SentTotal) / r.Seconds
	}
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

// fuzz sends messages from..from+n in order at the rate, stopping early
// if the daemon dies; it returns the first and last index sent in the two
// seconds before a death (nil when the daemon lived).
func fuzz(ctx context.Context, snd *sender, probe *daemonProbe, t Target, o options, r *Report, info func(string, ...any)) []int {
	type sentAt struct {
		index int
		at    time.Time
	}
	var recent []sentAt
	start := time.Now()
	next := 0
	lastNote := start
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for next < o.n {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			due := min(o.n, int(now.Sub(start).Seconds()*float64(o.rate))+1)
			for ; next < due; next++ {
				m := Generate(o.seed, o.from+next, t)
				r.SeedKinds[m.Kind]++
				if len(m.Mutations) == 0 {
					r.Unmutated++
				}
				for _, name := range m.Mutations {
					r.Mutations[name]++
				}
				snd.send(ctx, m)
				recent = append(recent, sentAt{m.Index, time.Now()})
			}
			if !probe.alive() {
				window := []int{o.from + next - 1, o.from + next - 1}
				for _, s := range recent {
					if time.Since(s.at) < 2*time.Second {
						window[0] = min(window[0], s.index)
					}
				}
				info("the daemon died after message %d", o.from+next-1)
				return window
			}
			// Keep the last two seconds (what a death report needs).
			drop := 0
			for drop < len(recent) && now.Sub(recent[drop].at) > 2*time.Second {
				drop++
			}
			if drop > len(recent)/2 {
				recent = append(recent[:0], recent[drop:]...)
			}
			if now.Sub(lastNote) >= 10*time.Second {
				lastNote = now
				info("%d of %d sent", next, o.n)
			}
		}
	}
	return nil
}

// canaryState asks the API whether the canary's call is still parked.
func canaryState(apiURL, token, callID string) string {
	req, err := http.NewRequest("GET", strings.TrimRight(apiURL, "/")+"/api/v1/calls", nil)
	if err != nil {
		return "unknown: " + err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return "unknown: " + err.Error()
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "unknown: API answered " + res.Status
	}
	var body struct {
		Calls []struct {
			CallID string `json:"call_id"`
			State  string `json:"state"`
			Lot    string `json:"lot"`
			Slot   string `json:"slot"`
		} `json:"calls"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 16<<20)).Decode(&body); err != nil {
		return "unknown: " + err.Error()
	}
	for _, c := range body.Calls {
		if c.CallID == callID {
			if c.State == "parked" {
				return fmt.Sprintf("yes (API: parked in lot %s slot %s)", c.Lot, c.Slot)
			}
			return "no: the API shows it " + c.State
		}
	}
	return "no: the API does not list the call"
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

// parseIPs reads "127.0.0.2,127.0.0.9" or "127.0.0.2-127.0.0.5".
func parseIPs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, b, isRange := strings.Cut(part, "-")
		first, err := netip.ParseAddr(a)
		if err != nil {
			return nil, err
		}
		last := first
		if isRange {
			if last, err = netip.ParseAddr(b); err != nil {
				return nil, err
			}
		}
		if last.Less(first) {
			return nil, fmt.Errorf("%s: range ends before it starts", part)
		}
		for ip := first; ; ip = ip.Next() {
			out = append(out, ip)
			if len(out) > 256 {
				return nil, errors.New("more than 256 source addresses")
			}
			if ip == last {
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no address")
	}
	return out, nil
}

// expandRange turns "701-720" into its numbers; "701" is one.
func expandRange(s string) ([]string, error) {
	lo, hi, err := parsePortRange(s)
	if err != nil {
		return nil, err
	}
	if hi-lo > 10000 {
		return nil, errors.New("range too large")
	}
	var out []string
	for n := lo; n <= hi; n++ {
		out = append(out, strconv.Itoa(n))
	}
	return out, nil
}

func parsePortRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if lo, err = strconv.Atoi(strings.TrimSpace(a)); err != nil {
		return 0, 0, fmt.Errorf("%q: want LOW-HIGH", s)
	}
	hi = lo
	if ok {
		if hi, err = strconv.Atoi(strings.TrimSpace(b)); err != nil {
			return 0, 0, fmt.Errorf("%q: want LOW-HIGH", s)
		}
	}
	if hi < lo {
		return 0, 0, fmt.Errorf("%q: HIGH is below LOW", s)
	}
	return lo, hi, nil
}
