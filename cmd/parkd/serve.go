package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore"
)

type serveFlags struct {
	config, rtpPorts, data, logFormat, logLevel string
	api                                         optionalString
	sip                                         []string
	headless                                    bool
}

func newServeCmd(e *env) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the parking daemon (logs to stderr)",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unexpected argument %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return serveExit(e, f) },
	}
	addServeFlags(cmd, &f)
	return cmd
}

func addServeFlags(cmd *cobra.Command, f *serveFlags) {
	fs := cmd.Flags()
	fs.StringVar(&f.config, "config", "", "read the YAML config `FILE` (flags override it)")
	// StringArray, not StringSlice: a URI is never split at commas.
	fs.StringArrayVar(&f.sip, "sip", nil, "listen for SIP on `URI`, repeatable (udp://127.0.0.1:5060, tcp://...)")
	fs.Var(&f.api, "api", "serve the HTTP API on `HOST:PORT` (default 127.0.0.1:7080; \"\" turns it off)")
	fs.StringVar(&f.rtpPorts, "rtp-ports", "", "use RTP ports `LOW-HIGH`")
	fs.StringVar(&f.data, "data", "", "keep the store and the API token in `DIR`")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: "+strings.Join(logLevelNames[:len(logLevelNames)-1], ", ")+" or "+logLevelNames[len(logLevelNames)-1]+" (trace adds sipgo's per-transaction lines)")
	fs.BoolVar(&f.headless, "headless", false, "run the daemon only, without the console")
	_ = cmd.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions(logLevelNames, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagFilename("config", "yaml", "yml", "json")
	_ = cmd.MarkFlagDirname("data")
}

func serve(e *env, f serveFlags) int {
	d, code := startDaemon(e, f, e.stderr)
	if code != exitOK {
		return code
	}
	defer d.stopSignals()
	sd := newSDNotifier(e.getenv, d.log)
	stopHUP := reloadOnSIGHUP(d, sd)
	defer stopHUP()
	sd.notify("READY=1", "STATUS="+d.status())
	stopping := make(chan struct{})
	go func() {
		defer close(stopping)
		<-d.ctx.Done()
		sd.notify("STOPPING=1", "STATUS=hanging up every call")
	}()
	code = d.run()
	<-stopping // run cancels ctx, so this returns; STOPPING=1 is sent before exit
	return code
}

// status is the one line systemctl status shows next to the unit.
func (d *runningDaemon) status() string {
	sip := make([]string, 0, len(d.srv.SIPAddrs()))
	for _, a := range d.srv.SIPAddrs() {
		sip = append(sip, a.String())
	}
	return fmt.Sprintf("parking %d slots, SIP on %s, API %s",
		len(d.srv.Snapshot()), strings.Join(sip, " "), cmp.Or(d.cfg.API.Listen, "off"))
}

// runningDaemon is parkd started: its SIP listeners bound and its API
// serving; run serves calls until its context ends.
type runningDaemon struct {
	srv         *parkd.Server
	cfg         parkd.Config
	log         *slog.Logger
	api         *httpAPI
	ctx         context.Context
	cancel      context.CancelFunc
	stopSignals context.CancelFunc
}

// startDaemon loads the config and starts parkd with its logs on logTo
// (called with the data directory, so the console can log to a file in
// it). SIGTERM and SIGINT end the daemon's context.
func startDaemon(e *env, f serveFlags, logTo io.Writer) (*runningDaemon, int) {
	return startDaemonWith(e, f, nil, func(parkd.Config) (io.Writer, error) { return logTo, nil })
}

// startDaemonWith is startDaemon with the config changed by edit (the
// demo's) and the log writer chosen once the data directory is known.
func startDaemonWith(e *env, f serveFlags, edit func(*parkd.Config), logTo func(parkd.Config) (io.Writer, error)) (*runningDaemon, int) {
	stderr := e.stderr
	journald := e.getenv("JOURNAL_STREAM") != ""
	if _, err := newLogger(io.Discard, f.logFormat, f.logLevel, journald); err != nil {
		fmt.Fprintf(stderr, "parkd: %v\n", err)
		return nil, exitUsage
	}
	cfg, err := loadConfig(f)
	if err != nil {
		fmt.Fprintf(stderr, "parkd: %v\n", err)
		return nil, exitUsage
	}
	if edit != nil {
		edit(&cfg)
	}
	w, err := logTo(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "parkd: %v\n", err)
		return nil, exitRuntime
	}
	log, _ := newLogger(w, f.logFormat, f.logLevel, journald)
	// sipcore hands sipgo's layers a clipped, per-source limited logger
	// whose DEBUG lines are TRACE; sipgo's package-level lines go the same
	// way.
	slog.SetDefault(log)
	sipcore.SetSipgoDefaultLogger(log)
	reread := func() (parkd.Config, error) {
		c, err := loadConfig(f)
		if err == nil && edit != nil {
			edit(&c)
		}
		return c, err
	}
	// Signals are ours from before the first socket is bound: a SIGTERM
	// while parkd starts is a clean stop, not the default kill.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	srv, err := parkd.New(cfg, log, parkd.WithReloader(reread))
	if err != nil {
		stop()
		fmt.Fprintf(stderr, "parkd: %v\n", err)
		var cerr *parkd.ConfigError
		if errors.As(err, &cerr) {
			return nil, exitUsage
		}
		return nil, exitRuntime
	}
	d := &runningDaemon{srv: srv, cfg: cfg, log: log}
	d.stopSignals = stop
	d.ctx, d.cancel = context.WithCancel(ctx)
	var code int
	if d.api, code = startAPI(d.ctx, d.cancel, srv, cfg, f, log, stderr); code != exitOK {
		d.cancel()
		srv.Run(d.ctx) // closes what New opened
		stop()
		return nil, code
	}
	return d, exitOK
}

// run serves calls until the daemon's context ends, then hangs every call
// up and waits for the API to stop.
func (d *runningDaemon) run() int {
	runErr := d.srv.Run(d.ctx)
	d.cancel()
	apiErr := d.api.wait()
	if runErr != nil {
		d.log.Error("parkd failed", "error", runErr)
		return exitRuntime
	}
	if apiErr != nil {
		d.log.Error("api failed", "error", apiErr)
		return exitRuntime
	}
	return exitOK
}

// loadConfig reads the config file (or the defaults) and applies the flags
// over it; the result is validated so a bad flag names itself.
func loadConfig(f serveFlags) (parkd.Config, error) {
	cfg := parkd.DefaultConfig()
	if f.config != "" {
		var err error
		if cfg, err = parkd.LoadConfig(f.config); err != nil {
			return cfg, err
		}
	}
	if len(f.sip) > 0 {
		cfg.SIP.Listen = f.sip
	}
	if f.api.set {
		cfg.API.Listen = f.api.value
	}
	if f.rtpPorts != "" {
		cfg.RTP.Ports = f.rtpPorts
	}
	if f.data != "" {
		cfg.Data = f.data
	}
	if err := cfg.Validate(); err != nil {
		return cfg, flagError(err, f)
	}
	return cfg, nil
}

// flagError renames a config key to the flag that set it.
func flagError(err error, f serveFlags) error {
	var cerr *parkd.ConfigError
	if !errors.As(err, &cerr) {
		return err
	}
	flags := map[string]string{"sip.listen": "--sip", "api.listen": "--api", "rtp.ports": "--rtp-ports", "data": "--data"}
	set := map[string]bool{"--sip": len(f.sip) > 0, "--api": f.api.set, "--rtp-ports": f.rtpPorts != "", "--data": f.data != ""}
	for key, flagName := range flags {
		if strings.HasPrefix(cerr.Key, key) && set[flagName] {
			return fmt.Errorf("flag %s: %s", flagName, cerr.Msg)
		}
	}
	return err
}

// optionalString is a flag that knows whether it was given, so that
// --api "" can turn the API off rather than mean "not given".
type optionalString struct {
	value string
	set   bool
}

func (o *optionalString) String() string { return o.value }
func (o *optionalString) Type() string   { return "string" }
func (o *optionalString) Set(v string) error {
	o.value, o.set = v, true
	return nil
}
