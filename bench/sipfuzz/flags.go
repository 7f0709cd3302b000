package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
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

	// Derived from the flags above by parseFlags.
	daemon      netip.AddrPort
	sourceIPs   []netip.Addr
	slotList    []string
	canaryPorts [2]int
	dnsAddrs    []netip.AddrPort
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("sipfuzz", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.sip, "sip", "127.0.0.1:5060", "the daemon's SIP `IP:PORT` (UDP and TCP)")
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
	return o, o.derive()
}

// derive parses the flags that hold addresses and ranges, and reads the
// token file; an error names the flag.
func (o *options) derive() error {
	var err error
	if o.daemon, err = netip.ParseAddrPort(o.sip); err != nil {
		return fmt.Errorf("-sip %q: want IP:PORT", o.sip)
	}
	if o.sourceIPs, err = parseIPs(o.sources); err != nil {
		return fmt.Errorf("-sources: %w", err)
	}
	if o.slotList, err = expandRange(o.slots); err != nil {
		return fmt.Errorf("-slots: %w", err)
	}
	if o.canaryPorts[0], o.canaryPorts[1], err = parsePortRange(o.canaryRTP); err != nil {
		return fmt.Errorf("-canary-rtp: %w", err)
	}
	if o.dnsListen != "" {
		for a := range strings.SplitSeq(o.dnsListen, ",") {
			ap, err := netip.ParseAddrPort(strings.TrimSpace(a))
			if err != nil {
				return fmt.Errorf("-dns-listen %q: want IP:PORT", a)
			}
			o.dnsAddrs = append(o.dnsAddrs, ap)
		}
	}
	if o.token == "" && o.tokenFile != "" {
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return fmt.Errorf("-token-file: %w", err)
		}
		o.token = strings.TrimSpace(string(b))
	}
	return nil
}

// target is what the corpus aims at.
func (o *options) target() Target {
	t := Target{Host: o.daemon.Addr().String(), Port: int(o.daemon.Port()), ParkExt: o.park, Slots: o.slotList, Retrieve: o.retrieve}
	for _, ip := range o.sourceIPs {
		t.SourceIPs = append(t.SourceIPs, ip.String())
	}
	return t
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
