package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
)

func (c *ctl) historyCmd() *cobra.Command {
	var f parkd.HistoryFilter
	cmd := &cobra.Command{
		Use:   "history [filters]",
		Short: "What happened to parked calls, newest first",
		Long: `history lists parks, retrieves, recalls, abandons and hangups, newest
first, one page at a time; the command for the next page is printed on
stderr (or is "next" in the JSON).

--since and --until take an RFC 3339 time, a local "2025-03-01 09:30", a
date, or a duration meaning that long ago ("2h").`,
		Example: `  parkd ctl history --slot 701 --since 24h
  parkd ctl history --outcome abandoned --json | jq '.entries[] | .caller'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.Limit < 0 {
				return usage("flag --limit: must not be negative")
			}
			var page parkd.HistoryPage
			err := c.do(cmd.Context(), func(ctx context.Context, cl parkd.Client) (err error) {
				page, err = cl.History(ctx, f)
				return err
			})
			if err != nil {
				return err
			}
			page.Entries = nonNil(page.Entries)
			return c.show(page, func() error { return c.renderHistory(cmd, page) })
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Lot, "lot", "", "only this `LOT`")
	fl.StringVar(&f.Slot, "slot", "", "only this `SLOT`")
	fl.StringVar(&f.Caller, "caller", "", "only callers matching `TEXT`")
	fl.StringVar(&f.Outcome, "outcome", "", "only this `OUTCOME` (retrieved, abandoned, recalled, …)")
	fl.Var(timeFlag{&f.Since, c.now}, "since", "from this `TIME` on")
	fl.Var(timeFlag{&f.Until, c.now}, "until", "up to this `TIME`")
	fl.IntVar(&f.Limit, "limit", 0, "at most `N` entries (default: the daemon's page size)")
	fl.StringVar(&f.Cursor, "cursor", "", "the page after this one (from the previous page)")
	return cmd
}

func (c *ctl) renderHistory(cmd *cobra.Command, page parkd.HistoryPage) error {
	t := c.table("TIME", "LOT", "SLOT", "OUTCOME", "CALLER", "PARKER", "PARKED", "DETAIL").paint(3)
	for _, e := range page.Entries {
		parked := ""
		if e.Parked > 0 {
			parked = short(time.Duration(e.Parked))
		}
		t.row(clock(e.Time), e.Lot, e.Slot, e.Outcome, e.Caller, e.Parker, parked, e.Detail)
	}
	if err := t.write(c.stdout); err != nil {
		return err
	}
	if page.Next != "" {
		fmt.Fprintf(c.stderr, "more: run %s again with the same filters and --cursor %s\n", cmd.CommandPath(), page.Next)
	}
	return nil
}
