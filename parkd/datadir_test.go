package parkd_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/store"
	"github.com/parkd/parkd/sipcore/siptest"
)

// A second daemon on a data directory in use is refused, naming the
// process that holds it; once the first has stopped, the directory is
// free again.
func TestSecondServerOnSameDataRefused(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, func(c *parkd.Config) { c.Data = dir })
	cfg := parkd.DefaultConfig()
	cfg.SIP.Listen = []string{"udp://127.0.0.1:0"}
	cfg.Data = dir
	_, err := parkd.New(cfg, testLogger(t))
	var locked *store.LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("second parkd.New on %s: %v, want a LockedError", dir, err)
	}
	var cerr *parkd.ConfigError
	if errors.As(err, &cerr) {
		t.Errorf("a data directory in use is reported as a config error (exit 2): %v", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("error %q does not name the holder, pid %d", err, os.Getpid())
	}

	d.shutdown()
	srv, err := parkd.New(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("parkd.New after the first stopped: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	srv.Run(ctx)
}

// Rows of a call a killed daemon left parked are closed with outcome
// lost at the next start; a call that ended normally is left alone.
func TestStartClosesLostCalls(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	err = st.AppendHistory(context.Background(),
		store.HistoryRow{Time: t0, Lot: "main", Slot: "701", CallID: "normal@x", Caller: "<sip:a@x>", Outcome: "parked"},
		store.HistoryRow{Time: t0, Lot: "main", Slot: "702", CallID: "killed@x", Caller: "<sip:b@x>", Outcome: "parked"},
		store.HistoryRow{Time: t0.Add(time.Second), Lot: "main", Slot: "701", CallID: "normal@x", Caller: "<sip:a@x>", Outcome: "retrieved"},
		store.HistoryRow{Time: t0.Add(2 * time.Second), Lot: "main", Slot: "702", CallID: "killed@x", Caller: "<sip:b@x>", Outcome: "recalling"},
	)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	d := startDaemon(t, func(c *parkd.Config) { c.Data = dir })
	page, err := d.srv.History(context.Background(), parkd.HistoryFilter{Outcome: parkd.OutcomeLost})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 1 || page.Entries[0].CallID != "killed@x" || page.Entries[0].Slot != "702" {
		t.Fatalf("lost entries %+v, want one for killed@x in 702", page.Entries)
	}
	rows, err := d.srv.HistoryRows(context.Background(), store.HistoryQuery{CallID: "normal@x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Outcome != "retrieved" {
		t.Errorf("the normal call's history is %+v; it must keep ending with retrieved", rows)
	}

	// A call parked now and hung up by a clean stop is not lost later.
	call := d.dial(siptest.NewPhone(t, "carol"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	d.shutdown()
	d2 := startDaemon(t, func(c *parkd.Config) { c.Data = dir })
	rows, err = d2.srv.HistoryRows(context.Background(), store.HistoryQuery{CallID: call.CallID()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || rows[0].Outcome != string(parkd.EventHungUp) {
		t.Errorf("a call hung up by a clean stop has history %+v, want it to end with hungup", rows)
	}
}
