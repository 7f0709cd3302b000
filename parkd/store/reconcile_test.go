package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A killed daemon's parked calls are closed at the next start; calls that
// ended, and calls already closed by an earlier start, are left alone.
func TestCloseOpenCalls(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	rows := []HistoryRow{
		{Time: t0, Lot: "main", Slot: "701", CallID: "ended", Caller: "<sip:a@x>", Outcome: "parked"},
		{Time: t0.Add(time.Second), Lot: "main", Slot: "702", CallID: "open", Caller: "<sip:b@x>", Parker: "<sip:p@x>", Outcome: "parked"},
		{Time: t0.Add(2 * time.Second), Lot: "main", Slot: "701", CallID: "ended", Outcome: "retrieved", Parked: 2 * time.Second},
		{Time: t0.Add(3 * time.Second), Lot: "main", Slot: "702", CallID: "open", Outcome: "recall_failed", Parked: 2 * time.Second},
	}
	if err := s.AppendHistory(ctx, rows...); err != nil {
		t.Fatal(err)
	}
	ended := []string{"retrieved", "abandoned", "hungup", "lost"}
	at := t0.Add(time.Hour)
	added, err := s.CloseOpenCalls(ctx, ended, "lost", "parkd stopped without ending the call", at)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 1 || added[0].CallID != "open" || added[0].Slot != "702" || added[0].Outcome != "lost" || added[0].Parked != 2*time.Second {
		t.Fatalf("closed %+v, want one lost row for call open in 702", added)
	}
	got, err := s.History(ctx, HistoryQuery{CallID: "open"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Outcome != "lost" || !got[0].Time.Equal(at) || !strings.Contains(got[0].Detail, "last seen 2026-12-04T09:00:03Z") {
		t.Errorf("newest row of the open call: %+v", got[0])
	}
	if again, err := s.CloseOpenCalls(ctx, ended, "lost", "x", at); err != nil || len(again) != 0 {
		t.Errorf("second pass closed %+v (%v), want nothing", again, err)
	}
	if got, _ := s.History(ctx, HistoryQuery{CallID: "ended"}); got[0].Outcome != "retrieved" {
		t.Errorf("an ended call got a new row: %+v", got[0])
	}
}

// A damaged file stops Open with a sentence that says what to do.
func TestOpenRefusesDamagedStore(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	rows := make([]HistoryRow, 3000)
	for i := range rows {
		rows[i] = HistoryRow{Lot: "main", Slot: "701", CallID: strings.Repeat("c", 40) + string(rune('a'+i%26)), Caller: strings.Repeat("x", 60), Outcome: "parked"}
	}
	if err := s.AppendHistory(context.Background(), rows...); err != nil {
		t.Fatal(err)
	}
	s.Close() // checkpoints the WAL into the file
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	if len(data) < 20*page {
		t.Fatalf("store is only %d bytes; the test needs more pages", len(data))
	}
	for i := 10 * page; i < 12*page; i++ { // two pages deep inside the history table
		data[i] = 0xA5
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), dir)
	if err == nil {
		t.Fatal("Open accepted a damaged store")
	}
	if !errors.Is(err, ErrDamaged) && !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("error %q does not say the store is damaged", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q spans lines", err)
	}
	if !strings.Contains(err.Error(), "aside") || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file and what to do", err)
	}
}

// A second lock on a held data directory names the holder; the lock goes
// with its holder.
func TestLockDir(t *testing.T) {
	dir := t.TempDir()
	first, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockDir(dir)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second LockDir: %v, want a LockedError", err)
	}
	if le.PID != os.Getpid() || !strings.Contains(err.Error(), "pid ") || le.Command == "" {
		t.Errorf("LockedError %+v (%q), want this process's pid %d and command line", le, err, os.Getpid())
	}
	if err := first.Unlock(); err != nil {
		t.Fatal(err)
	}
	again, err := LockDir(dir)
	if err != nil {
		t.Fatalf("LockDir after Unlock: %v", err)
	}
	again.Unlock()
}
