package main

import (
	"context"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
)

var slotStates = []string{parkd.SlotFree, parkd.SlotParked, parkd.SlotRecalling, parkd.SlotRetrieving}

func (c *ctl) slotsCmd() *cobra.Command {
	var f parkd.SlotFilter
	cmd := &cobra.Command{
		Use:   "slots [--lot LOT] [--state STATE]",
		Short: "List slots with their parked calls",
		Example: `  parkd ctl slots --state parked
  parkd ctl slots --lot main --json | jq '.slots[].call.caller'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var slots []parkd.SlotView
			err := c.do(cmd.Context(), func(ctx context.Context, cl parkd.Client) (err error) {
				slots, err = cl.Slots(ctx, f)
				return err
			})
			if err != nil {
				return err
			}
			return c.show(struct {
				Slots []parkd.SlotView `json:"slots"`
			}{nonNil(slots)}, func() error { return c.renderSlots(slots) })
		},
	}
	cmd.Flags().StringVar(&f.Lot, "lot", "", "only this `LOT`")
	cmd.Flags().Var(newEnum(&f.State, slotStates...), "state", "only slots in this `STATE`: "+joinOr(slotStates))
	_ = cmd.RegisterFlagCompletionFunc("state", cobra.FixedCompletions(slotStates, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (c *ctl) renderSlots(slots []parkd.SlotView) error {
	t := c.table("SLOT", "LOT", "STATE", "CALLER", "PARKED", "RECALL", "PARKER", "BLF").paint(2)
	for _, s := range slots {
		blf := ""
		if s.Subscribers > 0 {
			blf = strconv.Itoa(s.Subscribers)
		}
		state := s.State
		if s.Retired {
			state += " (retired)"
		}
		if s.Call == nil {
			t.row(s.Slot, s.Lot, state, "", "", "", "", blf)
			continue
		}
		k := s.Call
		t.row(s.Slot, s.Lot, state, k.Caller.String(), c.since(parkedSince(k)), c.recall(k), parkerOf(k), blf)
	}
	return t.write(c.stdout)
}

// parkedSince is when the call entered its slot's lot; a move keeps it.
func parkedSince(k *parkd.CallView) time.Time {
	if !k.Since.IsZero() {
		return k.Since
	}
	return k.ParkedAt
}

// recall is the RECALL cell: the step ringing now, else the time left.
func (c *ctl) recall(k *parkd.CallView) string {
	if k.Recalling != "" {
		return "ringing " + k.Recalling
	}
	return c.until(k.RecallAt)
}

func parkerOf(k *parkd.CallView) string {
	if k.Parker == nil {
		return ""
	}
	if k.Parker.Display != "" {
		return k.Parker.Display
	}
	if k.Parker.Number != "" {
		return k.Parker.Number
	}
	return k.Parker.URI
}
