package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/apiclient"
)

// defaultAPI is where `parkd ctl` looks for the daemon (README).
const defaultAPI = "http://127.0.0.1:7080"

// clientOptions is how `parkd ctl` was told to reach the daemon.
type clientOptions struct {
	api, token, data string
	apiFrom          string // "flag --api" or "PARKD_API", for errors
}

// dialDaemon is env.newClient outside tests: the HTTP client, with the
// token from --token, $PARKD_TOKEN or the data directory.
func dialDaemon(o clientOptions) (parkd.Client, error) {
	tok, err := apiclient.FindToken(o.token, o.data)
	if err != nil {
		return nil, err
	}
	c, err := apiclient.New(o.api, tok)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", o.apiFrom, err)
	}
	return c, nil
}

// ctl is what every verb shares: the global flags, the client (made on
// first use, so --help and usage errors never need a daemon) and output.
type ctl struct {
	*env
	opts   clientOptions
	json   bool
	client parkd.Client
}

func newCtlCmd(e *env) *cobra.Command {
	c := &ctl{env: e}
	envAPI := e.getenv("PARKD_API")
	api := envAPI
	if api == "" {
		api = defaultAPI
	}
	cmd := &cobra.Command{
		Use:   "ctl",
		Short: "Inspect and drive a running daemon through its HTTP API",
		Long: `ctl talks to a running parkd over its HTTP API. It prints aligned
tables, or the API's JSON with --json, and exits 0 on success, 1 when
parkd refused or failed the operation, 2 on a usage error.

The daemon is --api, else $PARKD_API, else ` + defaultAPI + `; the token is
--token, else $PARKD_TOKEN, else the file "token" in --data.`,
		Args: unknownVerb,
		RunE: missingVerb,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			c.opts.apiFrom = "flag --api"
			if !cmd.Flags().Changed("api") && envAPI != "" {
				c.opts.apiFrom = "PARKD_API"
			}
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&c.opts.api, "api", api, "daemon `URL` ($PARKD_API)")
	pf.StringVar(&c.opts.token, "token", "", "API `TOKEN` ($PARKD_TOKEN; default: the token file in --data)")
	pf.StringVar(&c.opts.data, "data", "", "the daemon's data `DIR`, where its token file is (default "+parkd.DefaultDataDir()+")")
	pf.BoolVar(&c.json, "json", false, "print JSON for scripts instead of tables")
	_ = cmd.MarkPersistentFlagDirname("data")
	cmd.AddCommand(
		c.statusCmd(), c.lotsCmd(), c.slotsCmd(), c.callsCmd(), c.watchCmd(),
		c.parkCmd(), c.retrieveCmd(), c.moveCmd(), c.transferCmd(), c.hangupCmd(),
		c.policyCmd(), c.historyCmd(), c.reloadCmd(),
	)
	return cmd
}

// unknownVerb is for commands that only group verbs: cobra would show
// their help and exit 0 on a typo.
func unknownVerb(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // what cobra uses for the root
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return fmt.Errorf("%s", msg)
}

func missingVerb(cmd *cobra.Command, _ []string) error {
	var verbs []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			verbs = append(verbs, sub.Name())
		}
	}
	return fmt.Errorf("missing verb, one of: %s", strings.Join(verbs, ", "))
}

// noArgs is cobra.NoArgs with a message for a verb, not a command group.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("takes no arguments, got %q", args[0])
	}
	return nil
}

// dial connects on first use.
func (c *ctl) dial() (parkd.Client, error) {
	if c.client != nil {
		return c.client, nil
	}
	cl, err := c.newClient(c.opts)
	if err != nil {
		return nil, &exitError{code: exitUsage, prefix: "parkd ctl", err: err}
	}
	c.client = cl
	return cl, nil
}

// do runs one operation against the daemon; a refusal or failure is exit 1
// with the API's message.
func (c *ctl) do(ctx context.Context, op func(context.Context, parkd.Client) error) error {
	cl, err := c.dial()
	if err != nil {
		return err
	}
	if err := op(ctx, cl); err != nil {
		return failed(err)
	}
	return nil
}

func failed(err error) error {
	return &exitError{code: exitRuntime, prefix: "parkd ctl", err: err}
}

// usage is an argument error found after cobra's checks: exit 2.
func usage(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

// printJSON writes v as the API does, indented for people reading a
// script's output.
func (c *ctl) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = c.stdout.Write(b)
	return err
}

// show prints v as JSON with --json, else runs the human renderer.
func (c *ctl) show(v any, human func() error) error {
	var err error
	if c.json {
		err = c.printJSON(v)
	} else {
		err = human()
	}
	if err != nil {
		// Output that cannot be written is a runtime failure, not usage.
		return failed(err)
	}
	return nil
}
