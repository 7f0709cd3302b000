package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
)

func (c *ctl) transferCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "transfer CALL [URI]",
		Short: "Ring URI (default: the lot's operator) and connect CALL to it",
		Example: `  parkd ctl transfer c42                  # the operator
  parkd ctl transfer c42 sip:sales@10.0.0.9`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			to := ""
			if len(args) == 2 {
				to = args[1]
			}
			var v parkd.CallView
			err := c.do(cmd.Context(), func(ctx context.Context, cl parkd.Client) (err error) {
				v, err = cl.Transfer(ctx, args[0], to)
				return err
			})
			if err != nil {
				return err
			}
			return c.show(v, func() error {
				target := v.RingingTo
				if target == "" {
					target = to
				}
				if target == "" {
					target = "the operator"
				}
				_, err := fmt.Fprintf(c.stdout, "%s: ringing %s\n", callName(v), target)
				return err
			})
		},
	}
}
