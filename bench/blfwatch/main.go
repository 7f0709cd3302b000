// Command blfwatch measures parkd's BLF fan-out from outside the daemon:
// it holds many dialog subscriptions to one slot, parks a call into that
// slot and hangs it up, again and again, and reports how long after the
// INVITE (or BYE) the last watcher had its NOTIFY, from the kernel's
// receive timestamps. Every NOTIFY is answered 200 at once; one received
// twice is a retransmission, which means a watcher's socket overflowed.
//
// It is its own process so that it can be pinned to a core of its own
// (bench/blfwatch.sh does the pinning): a thousand watchers in parkd's own
// test process share the Go scheduler with the daemon, and the daemon's
// fan-out then waits behind them.
//
//	go run ./bench/blfwatch -target 127.0.0.1:5060 -watchers 1000 -changes 60 -pid $(pidof parkd)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/parkd/parkd/bench/internal/proccpu"
	"github.com/parkd/parkd/internal/rawsip"
)

type report struct {
	Target         string      `json:"target"`
	Resource       string      `json:"resource"`
	Watchers       int         `json:"watchers"`
	Sockets        int         `json:"sockets"`
	Changes        int         `json:"changes"`
	NotifiesPer    float64     `json:"notifies_per_change"`
	Retransmits    int         `json:"retransmits"`
	LastNotify     percentiles `json:"last_notify"`
	FirstNotify    percentiles `json:"first_notify"`
	AfterPark      percentiles `json:"last_notify_after_invite"`
	AfterHangUp    percentiles `json:"last_notify_after_bye"`
	DaemonCPUPerMs float64     `json:"daemon_cpu_ms_per_change,omitempty"`
}

type percentiles struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func main() {
	target := flag.String("target", "127.0.0.1:5060", "parkd's SIP address (UDP)")
	park := flag.String("park", "700", "the park extension; the first free slot must be -slot")
	slot := flag.String("slot", "701", "the slot (BLF resource) the watchers subscribe to")
	n := flag.Int("watchers", 1000, "subscriptions")
	sockets := flag.Int("sockets", 0, "UDP sockets they are spread over (0: one each)")
	readBuffer := flag.Int("read-buffer", 0, "each socket's receive buffer in bytes (0: the kernel's default)")
	cycles := flag.Int("changes", 60, "park and hang-up cycles (two changes each)")
	gap := flag.Duration("gap", 100*time.Millisecond, "pause after each change, for parkd to take the 200s")
	timeout := flag.Duration("timeout", 10*time.Second, "give up on a transaction or a change after this")
	pid := flag.Int("pid", 0, "the daemon's pid, to report its CPU per change")
	jsonOut := flag.String("json", "", "also write the report to this file")
	flag.Parse()

	server, err := netip.ParseAddrPort(*target)
	if err != nil {
		fail(fmt.Errorf("-target: %w", err))
	}
	if *sockets <= 0 || *sockets > *n {
		*sockets = *n
	}
	w, err := rawsip.NewWatchers(server, *sockets, *readBuffer)
	if err != nil {
		fail(err)
	}
	defer w.Close()
	if err := w.Subscribe(*n, []string{*slot}, 60*time.Second); err != nil {
		fail(err)
	}
	time.Sleep(500 * time.Millisecond) // the initial NOTIFYs drain
	c, err := newCaller(server, *park)
	if err != nil {
		fail(err)
	}
	defer c.close()

	var took, first, parked, hungUp []time.Duration
	change := func(occupied bool, act func() (time.Time, error)) {
		w.Expect(*n, occupied)
		sent, err := act()
		if err != nil {
			fail(err)
		}
		last, err := w.Wait(*timeout)
		if err != nil {
			fail(fmt.Errorf("change %d: %w", len(took)+1, err))
		}
		took = append(took, last.Sub(sent))
		first = append(first, w.First().Sub(sent))
		if occupied {
			parked = append(parked, last.Sub(sent))
		} else {
			hungUp = append(hungUp, last.Sub(sent))
		}
		time.Sleep(*gap)
	}
	cpu0, _ := proccpu.Of(*pid)
	for range *cycles {
		var cl *call
		change(true, func() (sent time.Time, err error) {
			cl, sent, err = c.park(*timeout)
			return sent, err
		})
		change(false, func() (time.Time, error) { return cl.hangUp(*timeout) })
	}
	cpu1, cpuOK := proccpu.Of(*pid)
	time.Sleep(600 * time.Millisecond) // a NOTIFY resent by Timer E (500 ms) shows up now

	notifies, retransmits := w.Counts()
	rep := report{
		Target: *target, Resource: *slot, Watchers: *n, Sockets: *sockets, Changes: len(took),
		NotifiesPer: float64(notifies) / float64(len(took)), Retransmits: retransmits,
		LastNotify: summarize(took), FirstNotify: summarize(first), AfterPark: summarize(parked), AfterHangUp: summarize(hungUp),
	}
	if cpuOK {
		// Includes the gaps' idle time, which costs parkd nothing but the
		// music to one parked caller half the time.
		rep.DaemonCPUPerMs = float64((cpu1 - cpu0).Microseconds()) / 1000 / float64(len(took))
	}
	fmt.Printf("%d watchers of %s on %d sockets, %d changes: %.1f NOTIFYs per change, %d retransmitted\n",
		rep.Watchers, rep.Resource, rep.Sockets, rep.Changes, rep.NotifiesPer, rep.Retransmits)
	for _, p := range []struct {
		what string
		p    percentiles
	}{{"last NOTIFY after the INVITE or BYE", rep.LastNotify}, {"last NOTIFY after the INVITE", rep.AfterPark},
		{"last NOTIFY after the BYE", rep.AfterHangUp}, {"first NOTIFY after the INVITE or BYE", rep.FirstNotify}} {
		fmt.Printf("%s: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", p.what, p.p.P50, p.p.P90, p.p.P99, p.p.Max)
	}
	if cpuOK {
		fmt.Printf("daemon CPU: %.2f ms per change\n", rep.DaemonCPUPerMs)
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fail(err)
		}
	}
	if rep.Retransmits > 0 || rep.NotifiesPer != float64(*n) {
		os.Exit(1)
	}
}

func summarize(ds []time.Duration) percentiles {
	if len(ds) == 0 {
		return percentiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) float64 { return float64(s[int(p*float64(len(s)-1))].Microseconds()) / 1000 }
	return percentiles{P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: q(1)}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/blfwatch:", err)
	os.Exit(2)
}
