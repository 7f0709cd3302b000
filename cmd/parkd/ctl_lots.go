package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
)

func (c *ctl) lotsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "lots",
		Short: "List the parking lots with their slots in use and queues",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var lots []parkd.LotView
			err := c.do(cmd.Context(), func(ctx context.Context, cl parkd.Client) (err error) {
				lots, err = cl.Lots(ctx)
				return err
			})
			if err != nil {
				return err
			}
			return c.show(struct {
				Lots []parkd.LotView `json:"lots"`
			}{nonNil(lots)}, func() error { return c.renderLots(lots) })
		},
	}
}

func (c *ctl) renderLots(lots []parkd.LotView) error {
	t := c.table("LOT", "EXTENSION", "RETRIEVE", "SLOTS", "USED", "QUEUED", "ATTENDANT", "OPERATOR")
	for _, l := range lots {
		queued := strconv.Itoa(l.Queued)
		if l.QueueMax > 0 {
			queued += "/" + strconv.Itoa(l.QueueMax)
		}
		t.row(l.Name, l.Extension, orDash(l.RetrieveExtension), l.Slots,
			fmt.Sprintf("%d/%d", l.Used, l.Total), queued, orDash(l.AttendantExtension), orDash(l.Operator))
	}
	return t.write(c.stdout)
}

// nonNil makes an empty list print as [] in JSON, as the API sends it.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
