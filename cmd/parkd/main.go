// Command parkd is the SIP call-parking daemon.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/parkd/parkd/parkd"
)

// Exit codes are part of the command-line contract (DESIGN.md).
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stderr)
	case "help":
		usage(stderr)
		return exitOK
	default:
		fmt.Fprintf(stderr, "parkd: unknown command %q\n", cmd)
		usage(stderr)
		return exitUsage
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: parkd [serve] [flags]

  parkd serve    run the parking daemon (logs to stderr)

serve flags:
  --config FILE          YAML config file
  --sip URI              SIP listener, repeatable (udp://127.0.0.1:5060, tcp://...)
  --api HOST:PORT        HTTP API address
  --rtp-ports LOW-HIGH   RTP port range
  --data DIR             data directory (store, API token)
  --log-format text|json log format
  --log-level LEVEL      debug, info, warn or error
  --headless             run without the console (the only mode so far)
`)
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type serveFlags struct {
	config, api, rtpPorts, data, logFormat, logLevel string
	sip                                              stringList
	headless                                         bool
}

func serve(args []string, stderr io.Writer) int {
	var f serveFlags
	fs := flag.NewFlagSet("parkd serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(stderr) }
	fs.StringVar(&f.config, "config", "", "YAML config file")
	fs.Var(&f.sip, "sip", "SIP listener URI (repeatable)")
	fs.StringVar(&f.api, "api", "", "HTTP API HOST:PORT")
	fs.StringVar(&f.rtpPorts, "rtp-ports", "", "RTP port range LOW-HIGH")
	fs.StringVar(&f.data, "data", "", "data directory")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.BoolVar(&f.headless, "headless", false, "run the daemon only")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "parkd serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	log, err := newLogger(stderr, f.logFormat, f.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "parkd: %v\n", err)
		return exitUsage
	}
	// sipgo's transaction and transport layers log through the default logger.
	slog.SetDefault(log)
	cfg, err := loadConfig(f)
	if err != nil {
		fmt.Fprintf(stderr, "parkd: %v\n", err)
		return exitUsage
	}
	srv, err := parkd.New(cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "parkd: %v\n", err)
		var cerr *parkd.ConfigError
		if errors.As(err, &cerr) {
			return exitUsage
		}
		return exitRuntime
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := srv.Run(ctx); err != nil {
		log.Error("parkd failed", "error", err)
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
	if f.api != "" {
		cfg.API.Listen = f.api
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
	set := map[string]bool{"--sip": len(f.sip) > 0, "--api": f.api != "", "--rtp-ports": f.rtpPorts != "", "--data": f.data != ""}
	for key, flagName := range flags {
		if strings.HasPrefix(cerr.Key, key) && set[flagName] {
			return fmt.Errorf("flag %s: %s", flagName, cerr.Msg)
		}
	}
	return err
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("flag --log-level: %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("flag --log-format: %q is not text or json", format)
}
