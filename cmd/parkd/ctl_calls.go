package main

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
)

var callStates = []string{parkd.CallQueued, parkd.CallParked, parkd.CallRecalling, parkd.CallRinging, parkd.CallBridged}

func (c *ctl) callsCmd() *cobra.Command {
	var f parkd.CallFilter
	cmd := &cobra.Command{
		Use:   "calls [--lot LOT] [--state STATE]",
		Short: "List the calls parkd handles: queued, parked, ringing, bridged",
		Example: `  parkd ctl calls --state queued
  parkd ctl calls --json | jq -r '.calls[].id'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var calls []parkd.CallView
			err := c.do(cmd.Context(), func(ctx context.Context, cl parkd.Client) (err error) {
				calls, err = cl.Calls(ctx, f)
				return err
			})
			if err != nil {
				return err
			}
			return c.show(struct {
				Calls []parkd.CallView `json:"calls"`
			}{nonNil(calls)}, func() error { return c.renderCalls(calls) })
		},
	}
	cmd.Flags().StringVar(&f.Lot, "lot", "", "only this `LOT`")
	cmd.Flags().Var(newEnum(&f.State, callStates...), "state", "only calls in this `STATE`: "+joinOr(callStates))
	_ = cmd.RegisterFlagCompletionFunc("state", cobra.FixedCompletions(callStates, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (c *ctl) renderCalls(calls []parkd.CallView) error {
	t := c.table("ID", "STATE", "LOT", "SLOT", "CALLER", "WAITING", "RECALL", "DETAIL").paint(1)
	for i := range calls {
		k := &calls[i]
		t.row(k.ID, k.State, k.Lot, k.Slot, k.Caller.String(), c.since(k.Since), c.recall(k), callDetail(k))
	}
	return t.write(c.stdout)
}

// callDetail is the one thing worth knowing about a call beyond its state.
func callDetail(k *parkd.CallView) string {
	switch {
	case k.RingingTo != "":
		return "ringing " + k.RingingTo
	case k.Peer != "":
		return "with " + k.Peer
	case k.Position > 0:
		return "position " + strconv.Itoa(k.Position)
	case k.Parker != nil:
		return "parked by " + parkerOf(k)
	}
	return ""
}
