package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/tui"
)

// logFileName is where the embedded daemon logs: never over the screen.
const logFileName = "parkd.log"

// logPaneLines is how many log lines wait for the console's log pane; a
// burst beyond it is dropped from the pane (the file keeps every line).
const logPaneLines = 1024

// runRoot runs the console with an embedded daemon on a terminal, and the
// daemon alone anywhere else (systemd, a pipe), saying so.
func runRoot(e *env, f serveFlags) error {
	if f.headless {
		return serveExit(e, f)
	}
	if !e.interactive {
		fmt.Fprintln(e.stderr, "parkd: not on a terminal: running headless, as `parkd serve` (logs on stderr)")
		return serveExit(e, f)
	}
	if code := embedded(e, f); code != exitOK {
		return &exitError{code: code}
	}
	return nil
}

// embedded runs the daemon and the console in one process. The daemon
// logs to DATA/parkd.log and to the console's log pane; quitting the
// console stops the daemon, which hangs every call up cleanly.
func embedded(e *env, f serveFlags) int {
	code, logPath := runEmbedded(e, f, nil, nil)
	if logPath != "" {
		fmt.Fprintf(e.stderr, "parkd stopped; its log is %s\n", logPath)
	}
	return code
}

// consoleLog is the embedded daemon's log: the file and the pane.
type consoleLog struct {
	file  *os.File
	lines chan string
}

func openConsoleLog(dataDir string) (*consoleLog, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dataDir, logFileName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	return &consoleLog{file: f, lines: make(chan string, logPaneLines)}, nil
}

func (l *consoleLog) writer() io.Writer { return io.MultiWriter(l.file, &paneWriter{lines: l.lines}) }

// runEmbedded is embedded with two hooks for the demo: edit changes the
// config, and beside starts what runs next to the console (the simulated
// callers) once the daemon is up, returning how to stop it. It returns
// the exit code and, once the console has run, the log file's path.
func runEmbedded(e *env, f serveFlags, edit func(*parkd.Config), beside func(d *runningDaemon, log io.Writer) (stop func())) (int, string) {
	var cl *consoleLog
	d, code := startDaemonWith(e, f, edit, func(cfg parkd.Config) (io.Writer, error) {
		var err error
		if cl, err = openConsoleLog(cfg.Data); err != nil {
			return nil, err
		}
		return cl.writer(), nil
	})
	if code != exitOK {
		return code, ""
	}
	defer cl.file.Close()
	defer d.stopSignals()

	ran := make(chan int, 1)
	go func() { ran <- d.run() }()
	stopBeside := func() {}
	if beside != nil {
		stopBeside = beside(d, cl.writer())
	}
	addr := "in this process"
	if a := d.api.addr(); a != "" {
		addr = a + " (embedded)"
	}
	err := tui.Run(d.ctx, d.srv, tui.Options{Addr: addr, Embedded: true, Logs: cl.lines})
	stopBeside()
	d.cancel()
	code = <-ran
	if err != nil {
		fmt.Fprintf(e.stderr, "parkd: console: %v\n", err)
		return exitRuntime, cl.file.Name()
	}
	return code, cl.file.Name()
}

// paneWriter hands whole log lines to the console without ever blocking
// the daemon: a full pane drops the line (the log file has it).
type paneWriter struct{ lines chan string }

func (w *paneWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		select {
		case w.lines <- sc.Text():
		default:
		}
	}
	return len(p), nil
}

// newConsoleCmd is `parkd console`: the console attached to a running
// daemon through its HTTP API. q quits at once; the daemon runs on.
func newConsoleCmd(e *env) *cobra.Command {
	var opts clientOptions
	api := e.getenv("PARKD_API")
	if api == "" {
		api = defaultAPI
	}
	cmd := &cobra.Command{
		Use:   "console",
		Short: "The attendant console, attached to a running daemon",
		Long: `console shows a running parkd's slots, queue and events live and drives
them with keys. The daemon is --api, else $PARKD_API, else ` + defaultAPI + `;
the token is --token, else $PARKD_TOKEN, else the file "token" in --data.
Quitting leaves the daemon running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.apiFrom = "flag --api"
			if !cmd.Flags().Changed("api") && e.getenv("PARKD_API") != "" {
				opts.apiFrom = "PARKD_API"
			}
			c, err := e.newClient(opts)
			if err != nil {
				return &exitError{code: exitUsage, prefix: "parkd console", err: err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			if err := tui.Run(ctx, c, tui.Options{Addr: opts.api}); err != nil {
				return &exitError{code: exitRuntime, prefix: "parkd console", err: err}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.api, "api", api, "daemon `URL` ($PARKD_API)")
	fl.StringVar(&opts.token, "token", "", "API `TOKEN` ($PARKD_TOKEN; default: the token file in --data)")
	fl.StringVar(&opts.data, "data", "", "the daemon's data `DIR`, where its token file is (default "+parkd.DefaultDataDir()+")")
	_ = cmd.MarkFlagDirname("data")
	return cmd
}
