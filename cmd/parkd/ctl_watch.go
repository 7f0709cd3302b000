package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
)

// Reconnect backoff for watch: quick after a blip, at most every 10 s
// while the daemon is down.
const (
	watchMinBackoff = 250 * time.Millisecond
	watchMaxBackoff = 10 * time.Second
)

func (c *ctl) watchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "watch",
		Short: "Follow every slot and call change as it happens",
		Long: `watch prints one line per event until interrupted. When the stream
ends (the daemon restarts, the connection drops) it reconnects and resumes
after the last event it printed. With --json each line is one event.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cl, err := c.dial()
			if err != nil {
				return err
			}
			return c.watch(ctx, cl)
		},
	}
}

// watch follows the stream, resubscribing after the last Seq. The first
// subscribe must succeed, so a wrong token or address fails at once; after
// that only a refusal (the token changed) stops it, and an interrupt is a
// clean exit.
func (c *ctl) watch(ctx context.Context, cl parkd.Client) error {
	var last uint64
	backoff := watchMinBackoff
	for first := true; ; first = false {
		ch, err := cl.Subscribe(ctx, last)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && (first || !retryable(err)):
			return failed(err)
		case err != nil:
			fmt.Fprintf(c.stderr, "parkd ctl: %v; retrying in %s\n", err, backoff)
		default:
			backoff = watchMinBackoff
			var err error
			if last, err = c.follow(ctx, ch, last); err != nil {
				return failed(err)
			}
			if ctx.Err() != nil {
				return nil
			}
			fmt.Fprintf(c.stderr, "parkd ctl: the event stream ended after event %d; reconnecting\n", last)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, watchMaxBackoff)
	}
}

// follow prints events until the stream ends or ctx does, and returns
// the last Seq printed.
func (c *ctl) follow(ctx context.Context, ch <-chan parkd.Event, last uint64) (uint64, error) {
	for {
		select {
		case <-ctx.Done():
			return last, nil
		case ev, ok := <-ch:
			if !ok {
				return last, nil
			}
			if err := c.printEvent(ev); err != nil {
				return last, err
			}
			last = ev.Seq
		}
	}
}

// retryable errors are the daemon being away; anything else would fail
// the same way on every retry.
func retryable(err error) bool {
	code := parkd.ErrorCode(err)
	return code == parkd.CodeUnavailable || code == parkd.CodeInternal || code == ""
}

func (c *ctl) printEvent(ev parkd.Event) error {
	if c.json {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintln(c.stdout, c.eventLine(ev))
	return err
}

// eventLine is one event for people: "15:04:05 parked 701 Alice <sip:…>".
func (c *ctl) eventLine(ev parkd.Event) string {
	at := ev.Time
	if at.IsZero() {
		at = c.now()
	}
	parts := []string{at.Local().Format("15:04:05"), c.paintWord(string(ev.Kind))}
	where := ev.Slot
	if where == "" && ev.Call != nil {
		where = ev.Call.ID
	}
	if where == "" {
		where = ev.Lot
	}
	parts = append(parts, where)
	switch {
	case ev.Kind == parkd.EventResync:
		parts = append(parts, "(events were missed: take a fresh look with slots and calls)")
	case ev.Kind == parkd.EventSubscribers:
		parts = append(parts, strconv.Itoa(ev.Subscribers)+" watching")
	case ev.Call != nil:
		parts = append(parts, ev.Call.Caller.String())
	}
	if ev.Detail != "" {
		parts = append(parts, "("+ev.Detail+")")
	}
	return strings.Join(nonEmpty(parts), " ")
}

// nonEmpty drops empty parts so a line never has double spaces.
func nonEmpty(parts []string) []string {
	out := parts[:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
