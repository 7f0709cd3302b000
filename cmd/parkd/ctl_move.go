package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
)

func (c *ctl) moveCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "move SLOT TO",
		Short:   "Move the call parked in SLOT to the free slot TO",
		Example: `  parkd ctl move 701 715`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var v parkd.SlotView
			err := c.do(cmd.Context(), func(ctx context.Context, cl parkd.Client) (err error) {
				v, err = cl.Move(ctx, args[0], args[1])
				return err
			})
			if err != nil {
				return err
			}
			return c.show(v, func() error {
				who := ""
				if v.Call != nil {
					who = " " + callName(*v.Call)
				}
				_, err := fmt.Fprintf(c.stdout, "moved%s from %s to %s\n", who, args[0], v.Slot)
				return err
			})
		},
	}
}
