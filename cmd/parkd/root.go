package main

import (
	"github.com/spf13/cobra"
)

// newRootCmd is the whole command tree. `parkd` alone runs the daemon
// with the console on a terminal, headless anywhere else.
func newRootCmd(e *env) *cobra.Command {
	var f serveFlags
	root := &cobra.Command{
		Use:   "parkd",
		Short: "SIP call-parking daemon",
		Long: `parkd parks SIP calls in slots, shows them on BLF keys, recalls them
when they wait too long, and serves an HTTP API for consoles and scripts.

With no command on a terminal, parkd runs the daemon and the attendant
console in one process (it takes the serve flags; the daemon logs to
DATA/parkd.log). Not on a terminal, or with --headless, it runs the daemon
alone, as "parkd serve".`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       longVersion(),
		RunE:          func(cmd *cobra.Command, args []string) error { return runRoot(e, f) },
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	addServeFlags(root, &f)
	root.AddCommand(newServeCmd(e), newCtlCmd(e), newConsoleCmd(e), newDemoCmd(e), newConfigCmd(e), newVersionCmd(e))
	return root
}

// serveExit runs the daemon and turns its exit code into cobra's error.
func serveExit(e *env, f serveFlags) error {
	if code := serve(e, f); code != exitOK {
		return &exitError{code: code}
	}
	return nil
}
