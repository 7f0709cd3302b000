// Command parkd is the SIP call-parking daemon and its scripting CLI.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/parkd/parkd/parkd"
)

// Exit codes are part of the command-line contract (README).
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], newEnv()))
}

// exitError carries a command's exit code out of cobra. Anything else
// cobra returns (an unknown command or flag, a wrong argument count) is a
// usage error.
type exitError struct {
	code   int
	prefix string // "parkd ctl", before err's message
	err    error  // nil: the command has told the user already
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func run(ctx context.Context, args []string, env *env) int {
	root := newRootCmd(env)
	root.SetArgs(singleDashCompat(append([]string{}, args...)))
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(env.stderr, "%s: %v\n", ee.prefix, ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(env.stderr, "%s: %v\n", cmd.CommandPath(), err)
	fmt.Fprintf(env.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	return exitUsage
}

// env is what the commands take from the process, so tests can give them
// buffers, an environment and a fake daemon instead.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// colour is true when stdout is a terminal and NO_COLOR is unset.
	colour bool
	// interactive: stdin and stdout are a terminal, so `parkd` alone
	// runs the console.
	interactive bool
	// newClient connects `parkd ctl` to a daemon.
	newClient func(o clientOptions) (parkd.Client, error)
	now       func() time.Time
}

func newEnv() *env {
	return &env{
		stdout:      os.Stdout,
		stderr:      os.Stderr,
		getenv:      os.Getenv,
		colour:      isTerminal(os.Stdout) && os.Getenv("NO_COLOR") == "",
		interactive: isTerminal(os.Stdin) && isTerminal(os.Stdout),
		newClient:   dialDaemon,
		now:         time.Now,
	}
}

// isTerminal is a character device check: enough to tell a terminal from
// a pipe or file without a dependency.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
