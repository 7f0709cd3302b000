package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
)

func (c *ctl) retrieveCmd() *cobra.Command {
	var req parkd.RetrieveRequest
	cmd := &cobra.Command{
		Use:   "retrieve SLOT [--to URI]",
		Short: "Ring a phone and connect it to the call parked in SLOT",
		Long: `retrieve rings --to (default: the lot's operator) and bridges the parked
call to whoever answers. The call stays parked until then; "parkd ctl
watch" shows ring_failed if nobody answers.`,
		Example: `  parkd ctl retrieve 701 --to sip:reception@10.0.0.5`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var v parkd.SlotView
			err := c.do(cmd.Context(), func(ctx context.Context, cl parkd.Client) (err error) {
				v, err = cl.Retrieve(ctx, args[0], req)
				return err
			})
			if err != nil {
				return err
			}
			return c.show(v, func() error {
				line := fmt.Sprintf("%s: %s", v.Slot, v.State)
				if v.Call != nil {
					line = fmt.Sprintf("%s: %s %s", v.Slot, v.State, callName(*v.Call))
					if v.Call.RingingTo != "" {
						line += ", ringing " + v.Call.RingingTo
					}
				}
				_, err := fmt.Fprintln(c.stdout, line)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&req.To, "to", "", "the SIP `URI` to ring (default: the lot's operator)")
	return cmd
}
