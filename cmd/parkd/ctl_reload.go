package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
)

func (c *ctl) reloadCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Make the daemon re-read its config file without dropping calls (as SIGHUP does)",
		Long: `Make the daemon re-read its config file, as SIGHUP does. Lots, slots,
policies, music on hold, BLF, rate limits, sip.allow, sip.trusted and
sip.auth change at once; parked calls keep their slot and music. A slot
the new config removes keeps its call until the call ends (shown retired).
A config with errors changes nothing: the errors are printed and the exit
status is 1. Keys bound at start (sip.listen, rtp.ports, api, data…) need
a restart; reload names the ones that changed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var res parkd.ReloadResult
			err := c.do(cmd.Context(), func(ctx context.Context, cl parkd.Client) (err error) {
				rl, ok := cl.(parkd.Reloader)
				if !ok {
					return &parkd.Error{Code: parkd.CodeUnavailable, Message: "this client cannot ask for a reload"}
				}
				res, err = rl.Reload(ctx)
				return err
			})
			if err != nil {
				return err
			}
			return c.show(res, func() error { return printReload(c, res) })
		},
	}
}

// printReload says what changed, one line per kind of change.
func printReload(c *ctl, r parkd.ReloadResult) error {
	lines := append([]string{"reloaded: lots " + strings.Join(r.Lots, ", ")}, r.Changes()...)
	if len(lines) == 1 {
		lines = append(lines, "nothing changed")
	}
	_, err := fmt.Fprintln(c.stdout, strings.Join(lines, "\n"))
	return err
}
