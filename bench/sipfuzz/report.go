package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Report is what a run found; -json prints it as is.
type Report struct {
	Mode    string   `json:"mode"` // fuzz or flood
	Command string   `json:"command"`
	Seed    uint64   `json:"seed,omitempty"`
	Sources []string `json:"sources"`

	Planned     int            `json:"planned"` // messages the run meant to send
	Rate        int            `json:"rate"`    // offered messages per second
	Sent        map[string]int `json:"sent"`    // by transport
	SentTotal   int            `json:"sent_total"`
	BytesSent   int64          `json:"bytes_sent"`
	SendFailed  map[string]int `json:"send_failed,omitempty"`
	Received    map[string]int `json:"received"` // what the daemon sent back, by response class or method
	Statuses    map[string]int `json:"statuses"` // its SIP/2.0 responses by status line
	TCPClosed   int64          `json:"tcp_closed_by_daemon"`
	JunkSamples []string       `json:"junk_samples,omitempty"` // non-SIP the daemon sent back
	ToPhones    map[string]int `json:"to_phones"`              // what it sent to the addresses the messages named (SOURCE:5060)
	// ToPhonesTx is the distinct requests (transactions) among ToPhones,
	// by method; the rest are retransmissions (the decoys never answer).
	ToPhonesTx map[string]int `json:"to_phones_transactions"`
	DNSQueries int            `json:"dns_queries"` // -1: not watched
	DNSNames   int            `json:"dns_names"`
	DNSTypes   map[string]int `json:"dns_types,omitempty"`
	DNSSample  []string       `json:"dns_sample,omitempty"`
	Seconds    float64        `json:"seconds"`       // sending time
	Achieved   float64        `json:"achieved_rate"` // messages per second
	CPU        CPUUsage       `json:"cpu"`
	SeedKinds  map[string]int `json:"seed_kinds,omitempty"`
	Mutations  map[string]int `json:"mutations,omitempty"`
	Unmutated  int            `json:"unmutated,omitempty"`
	// DeathWindow is the first and last index of the messages sent in the
	// two seconds before the daemon was seen dead: replay them with -from
	// and -n to find the one that kills it.
	DeathWindow []int `json:"death_window,omitempty"`

	DaemonAlive bool   `json:"daemon_alive"`
	DaemonDied  string `json:"daemon_died,omitempty"`
	RSSStartKiB int64  `json:"rss_start_kib"`
	RSSPeakKiB  int64  `json:"rss_peak_kib"`
	RSSEndKiB   int64  `json:"rss_end_kib"`
	LogBytes    int64  `json:"log_bytes"`

	Canary           bool          `json:"canary"` // a canary call was parked
	CanaryPackets    uint64        `json:"canary_packets"`
	CanaryRateMin    float64       `json:"canary_rate_min"`
	CanaryRateAvg    float64       `json:"canary_rate_avg"`
	CanaryMaxSilence string        `json:"canary_max_silence"`
	canaryMaxSilence time.Duration // for the verdict
	// CanarySilenceAt is when the longest silence began, from the first
	// message; CanaryOwnStall the longest the canary's own sampler ran
	// late (a silence no longer than it may be this process starving);
	// CanaryWarmupSilence the longest silence before any message was sent.
	CanarySilenceAt     string `json:"canary_silence_at,omitempty"`
	CanaryOwnStall      string `json:"canary_own_stall"`
	canaryOwnStall      time.Duration
	CanaryWarmupSilence string `json:"canary_warmup_silence"`
	CanaryCallEnded     bool   `json:"canary_call_ended"`
	CanaryParked        string `json:"canary_parked"` // yes, no: why, or unknown

	Failures []string `json:"failures"`
	Pass     bool     `json:"pass"`
}

// limits decide the verdict.
type limits struct {
	maxSilence time.Duration
	maxRSSKiB  int64 // 0: no limit
}

// judge fills Failures and Pass.
func (r *Report) judge(l limits) {
	r.Failures = []string{}
	if !r.DaemonAlive {
		r.Failures = append(r.Failures, "the daemon died: "+r.DaemonDied)
	}
	if r.canaryMaxSilence > l.maxSilence {
		f := fmt.Sprintf("the canary heard no music for %s (limit %s)", r.CanaryMaxSilence, l.maxSilence)
		if r.canaryOwnStall >= r.canaryMaxSilence-canarySample {
			// Still a failure: the daemon may have stalled too. But say
			// that this process was not running either, so the reader
			// looks at the machine before the daemon.
			f += fmt.Sprintf("; but sipfuzz itself was not scheduled for %s, so the machine may be to blame: re-run on a quieter one", r.CanaryOwnStall)
		}
		r.Failures = append(r.Failures, f)
	}
	if r.CanaryCallEnded {
		r.Failures = append(r.Failures, "the canary call was ended by the daemon")
	}
	if strings.HasPrefix(r.CanaryParked, "no:") {
		r.Failures = append(r.Failures, "the canary is not parked any more: "+r.CanaryParked)
	}
	if l.maxRSSKiB > 0 && r.RSSPeakKiB > l.maxRSSKiB {
		r.Failures = append(r.Failures, fmt.Sprintf("RSS peaked at %.1f MiB (limit %.0f MiB)", mib(r.RSSPeakKiB), mib(l.maxRSSKiB)))
	}
	r.Pass = len(r.Failures) == 0
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// counts prints a map as "a 3, b 1", largest first.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func sample(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return ", e.g. " + strings.Join(names, "; ")
}

// topN is the n largest entries of m as "key (count)", largest first.
func topN(m map[string]int, n int) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	var out []string
	for _, k := range keys[:min(n, len(keys))] {
		out = append(out, fmt.Sprintf("%s (%d)", k, m[k]))
	}
	return out
}

func (r *Report) writeText(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("sipfuzz %s report", r.Mode)
	p("  command:            %s", r.Command)
	if r.Mode == "fuzz" {
		p("  seed:               %d", r.Seed)
	}
	p("  sources:            %s", strings.Join(r.Sources, " "))
	p("  sent:               %d of %d messages (%s), %d bytes, in %.1f s (%.0f/s, offered %d/s)",
		r.SentTotal, r.Planned, counts(r.Sent), r.BytesSent, r.Seconds, r.Achieved, r.Rate)
	p("  CPU while sending:  %s", r.CPU)
	if len(r.SendFailed) > 0 {
		p("  not delivered:      %s", counts(r.SendFailed))
	}
	p("  daemon sent back:   %s", counts(r.Received))
	p("  status lines:       %s", counts(r.Statuses))
	p("  TCP closed by it:   %d connections", r.TCPClosed)
	for _, j := range r.JunkSamples {
		p("  not SIP, e.g.:      %s", j)
	}
	if len(r.ToPhones) == 0 {
		p("  sent to the phones: nothing (no unasked traffic to the addresses in Via/Contact)")
	} else {
		p("  sent to the phones: %s packets (unasked traffic to the addresses in Via/Contact); distinct requests: %s", counts(r.ToPhones), counts(r.ToPhonesTx))
	}
	if r.DNSQueries < 0 {
		p("  DNS queries:        not watched (no -dns-listen)")
	} else {
		p("  DNS queries:        %d (%s), %d distinct names%s", r.DNSQueries, counts(r.DNSTypes), r.DNSNames, sample(r.DNSSample))
	}
	if r.Mode == "fuzz" {
		p("  seed kinds:         %s", counts(r.SeedKinds))
		p("  mutations:          %s; %d messages unmutated", counts(r.Mutations), r.Unmutated)
	}
	alive := "yes"
	if !r.DaemonAlive {
		alive = "NO: " + r.DaemonDied
	}
	p("  daemon alive:       %s", alive)
	if len(r.DeathWindow) == 2 {
		first, last := r.DeathWindow[0], r.DeathWindow[1]
		p("  sent in the 2 s before it died: messages %d-%d (replay: -seed %d -from %d -n %d; one message: -print INDEX)", first, last, r.Seed, first, last-first+1)
	}
	p("  RSS:                start %.1f MiB, peak %.1f MiB, end %.1f MiB", mib(r.RSSStartKiB), mib(r.RSSPeakKiB), mib(r.RSSEndKiB))
	perMsg := 0.0
	if r.SentTotal > 0 {
		perMsg = float64(r.LogBytes) / float64(r.SentTotal)
	}
	p("  log written:        %d bytes (%.0f bytes per message sent; %.2f per byte sent)", r.LogBytes, perMsg, float64(r.LogBytes)/float64(max(r.BytesSent, 1)))
	if !r.Canary {
		p("  canary:             none (-canary-ext \"\")")
		r.writeVerdict(p)
		return
	}
	silence := r.CanaryMaxSilence
	if r.canaryMaxSilence < canarySample && r.CanaryPackets > 0 {
		silence = "under " + canarySample.String()
	}
	p("  canary:             %d packets, min %.1f pkt/s, avg %.1f pkt/s (50 expected), longest silence %s", r.CanaryPackets, r.CanaryRateMin, r.CanaryRateAvg, silence)
	if r.CanarySilenceAt != "" && r.canaryMaxSilence >= canarySample {
		p("  canary silence:     the longest began %s after the first message; the sampler's own longest stall %s; before sending: %s", r.CanarySilenceAt, r.CanaryOwnStall, r.CanaryWarmupSilence)
	}
	p("  canary parked:      %s", r.CanaryParked)
	r.writeVerdict(p)
}

func (r *Report) writeVerdict(p func(string, ...any)) {
	if r.Pass {
		p("RESULT: PASS")
		return
	}
	for _, f := range r.Failures {
		p("  FAILURE: %s", f)
	}
	p("RESULT: FAIL")
}
