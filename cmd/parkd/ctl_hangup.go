package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
)

func (c *ctl) hangupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hangup CALL|SLOT",
		Short: "Hang up a call, by its id or by the slot it is parked in",
		Example: `  parkd ctl hangup 701
  parkd ctl hangup c42`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var v parkd.CallView
			err := c.do(cmd.Context(), func(ctx context.Context, cl parkd.Client) (err error) {
				v, err = hangup(ctx, cl, args[0])
				return err
			})
			if err != nil {
				return err
			}
			return c.show(v, func() error {
				_, err := fmt.Fprintf(c.stdout, "hung up %s\n", callName(v))
				return err
			})
		},
	}
}

// hangup takes a slot that holds a call as that call; anything else is a
// call id. Slot numbers and call ids cannot be told apart by their look.
func hangup(ctx context.Context, cl parkd.Client, arg string) (parkd.CallView, error) {
	s, err := cl.Slot(ctx, arg)
	isSlot := err == nil
	switch code := parkd.ErrorCode(err); {
	case isSlot && s.Call != nil:
		return cl.Hangup(ctx, s.Call.ID)
	case !isSlot && code != parkd.CodeNoSuchSlot && code != parkd.CodeInvalidField:
		return parkd.CallView{}, err // the daemon is away or refused us
	}
	v, err := cl.Hangup(ctx, arg)
	if isSlot && parkd.ErrorCode(err) == parkd.CodeNoSuchCall {
		// It named an empty slot: say that, not "no such call 701".
		return v, &parkd.Error{Code: parkd.CodeSlotEmpty, Message: fmt.Sprintf("slot %s holds no call", arg)}
	}
	return v, err
}
