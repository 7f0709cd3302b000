package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
)

func (c *ctl) parkCmd() *cobra.Command {
	var req parkd.ParkRequest
	cmd := &cobra.Command{
		Use:   "park CALL [SLOT]",
		Short: "Park a queued or bridged call, in SLOT or the next free slot",
		Example: `  parkd ctl park c42           # the next free slot of its lot
  parkd ctl park c42 705 --recall-after 2m`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				req.Slot = args[1]
			}
			var v parkd.CallView
			err := c.do(cmd.Context(), func(ctx context.Context, cl parkd.Client) (err error) {
				v, err = cl.Park(ctx, args[0], req)
				return err
			})
			if err != nil {
				return err
			}
			return c.show(v, func() error {
				line := fmt.Sprintf("parked %s in %s", callName(v), orDash(v.Slot))
				if r := c.until(v.RecallAt); r != "" {
					line += ", recall in " + r
				}
				_, err := fmt.Fprintln(c.stdout, line)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&req.Lot, "lot", "", "the next free slot of this `LOT`")
	cmd.Flags().Var(durationFlag{&req.RecallAfter}, "recall-after", "this call's own recall time, e.g. 2m, over every policy")
	cmd.Flags().StringVar(&req.Parker, "parker", "", "who parked it (a SIP `URI`), rung back on recall")
	return cmd
}

// callName is a call for a confirmation line: its id and who it is.
func callName(v parkd.CallView) string {
	if who := v.Caller.String(); who != "" {
		return v.ID + " (" + who + ")"
	}
	return v.ID
}
