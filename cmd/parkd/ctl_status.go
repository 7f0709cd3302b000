package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
)

func (c *ctl) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "The daemon at a glance: version, uptime, SIP listeners, lots",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st parkd.Status
			err := c.do(cmd.Context(), func(ctx context.Context, cl parkd.Client) (err error) {
				st, err = cl.Status(ctx)
				return err
			})
			if err != nil {
				return err
			}
			return c.show(st, func() error { return c.renderStatus(st) })
		},
	}
}

func (c *ctl) renderStatus(st parkd.Status) error {
	up := ""
	if !st.Started.IsZero() {
		up = fmt.Sprintf(", up %s (since %s)", c.since(st.Started), clock(st.Started))
	}
	fmt.Fprintf(c.stdout, "parkd %s%s\n", orDash(st.Version), up)
	fmt.Fprintf(c.stdout, "SIP         %s\n", orDash(strings.Join(st.SIP, ", ")))
	fmt.Fprintf(c.stdout, "calls       %d\n", st.Calls)
	fmt.Fprintf(c.stdout, "last event  %d\n\n", st.LastEvent)
	return c.renderLots(st.Lots)
}
