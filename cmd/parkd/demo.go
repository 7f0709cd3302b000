package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/simphone"
)

// demoRTPPorts are the simulated phones' RTP ports, clear of parkd's.
const demoRTPPorts = "47500-47599"

// newDemoCmd is `parkd demo`: the daemon, the console and a handful of
// simulated people who really call in over loopback SIP with audio, on
// short timers, so a newcomer sees calls queue, park, ring back on recall
// and be retrieved within the first minute.
func newDemoCmd(e *env) *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The console with simulated callers: see parkd work in a minute",
		Long: `demo runs parkd on loopback with the console and simulated people: callers
who wait for the attendant (dial 0) or are transferred to the park extension
by a desk phone, desk phones that pick up (*700) and answer recalls, and
your own phone ("reception", the lot's operator), which answers what you
connect to it. Recalls come after 20 s. Drive it with the keys (? for help).
Its data lives in a temporary directory unless --keep-data.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if code := demo(e, keep); code != exitOK {
				return &exitError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep-data", false, "keep the demo's data directory (its log, store and token) and print where it is")
	return cmd
}

func demo(e *env, keep bool) int {
	if !e.interactive {
		fmt.Fprintln(e.stderr, "parkd demo: the demo is a console and needs a terminal")
		return exitUsage
	}
	data, err := os.MkdirTemp("", "parkd-demo-")
	if err != nil {
		fmt.Fprintf(e.stderr, "parkd demo: %v\n", err)
		return exitRuntime
	}
	if !keep {
		defer os.RemoveAll(data)
	}
	log := &lateWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	town, err := simphone.Start(ctx, simphone.Config{RTPPorts: demoRTPPorts, Log: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		fmt.Fprintf(e.stderr, "parkd demo: simulated phones: %v\n", err)
		return exitRuntime
	}
	defer town.Close()
	f := serveFlags{
		sip: []string{"udp://127.0.0.1:0"}, api: optionalString{value: "127.0.0.1:0", set: true},
		data: data, logFormat: "text", logLevel: "info",
	}
	code, _ := runEmbedded(e, f, func(cfg *parkd.Config) { demoConfig(cfg, town) }, func(d *runningDaemon, w io.Writer) func() {
		log.set(w)
		for _, a := range d.srv.SIPAddrs() {
			if a.Network == "udp" {
				town.SetTarget(a.Addr)
			}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := town.Run(ctx); err != nil {
				d.log.Error("demo callers stopped", "error", err)
			}
		}()
		return func() {
			cancel()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
			}
		}
	})
	if keep {
		fmt.Fprintf(e.stderr, "parkd demo: its data (log, store, token) is in %s\n", data)
	}
	return code
}

// demoConfig is the default lot on short timers, with the simulated desk
// phones as the operator and the ring group.
func demoConfig(cfg *parkd.Config, town *simphone.Town) {
	d := func(s time.Duration) *parkd.Duration { v := parkd.Duration(s); return &v }
	recallTo, onFailure, maxRecalls := parkd.RecallParkerThenGroup, parkd.FailureRepark, 2
	cfg.Defaults.RecallAfter = d(20 * time.Second)
	cfg.Defaults.RingParkerFor = d(8 * time.Second)
	cfg.Defaults.RingGroupFor = d(8 * time.Second)
	cfg.Defaults.RecallTo = &recallTo
	cfg.Defaults.OnFailure = &onFailure
	cfg.Defaults.MaxRecalls = &maxRecalls
	cfg.Defaults.RingGroup = town.RingGroup()
	cfg.Lots = []parkd.LotConfig{parkd.DefaultLot()}
	cfg.Lots[0].Operator = town.Operator()
}

// lateWriter drops what is written to it until it has somewhere to go:
// the simulated phones start before the console's log exists.
type lateWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lateWriter) set(w io.Writer) {
	l.mu.Lock()
	l.w = w
	l.mu.Unlock()
}

func (l *lateWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w == nil {
		return len(p), nil
	}
	return l.w.Write(p)
}
