package parkd_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

// advance moves the clock and waits until the daemon has armed its next
// timer, so that the next Advance finds it.
func advance(t *testing.T, clock *parkd.ManualClock, d time.Duration) {
	t.Helper()
	armed := clock.Armed()
	clock.Advance(d)
	select {
	case <-armed:
	case <-time.After(5 * time.Second):
		t.Fatalf("no timer armed after advancing %s", d)
	}
}

// A caller who dialled the park extension has no parker; with no ring
// group a recall has nobody to ring. Under on_failure repark the call is
// never hung up for that: it stays parked and its recall does not count,
// however many rounds fall due; it shows overdue, once, in the events and
// on the BLF key. A ring group set later is rung at the next round.
func TestRecallWithNobodyToRingStaysParked(t *testing.T) {
	clock := parkd.NewManualClock(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	var log lockedLog
	d := startDaemonLogging(t, slog.New(slog.NewTextHandler(io.MultiWriter(&log, testLoggerWriter(t)), nil)), nil, parkd.WithClock(clock))
	watcher := d.subscribe(siptest.NewPhone(t, "watcher"), "701", 200, siptest.SubscribeOptions{Expires: 600})
	nextDialogInfo(t, watcher)
	parked := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	if _, info := nextDialogInfo(t, watcher); len(info.Dialogs) != 1 || info.Dialogs[0].Local.Display != "Park 701" {
		t.Fatalf("parked key: %+v", info.Dialogs)
	}

	advance(t, clock, 45*time.Second)
	ev := d.waitEvent(parkd.EventOverdue, "701")
	if !ev.Call.Overdue || ev.Call.Recalls != 0 || ev.Call.RecallAt != nil {
		t.Errorf("overdue event call: overdue %v, recalls %d, recall_at %v; want overdue, 0 recalls, none pending",
			ev.Call.Overdue, ev.Call.Recalls, ev.Call.RecallAt)
	}
	_, info := nextDialogInfo(t, watcher)
	if len(info.Dialogs) != 1 || info.Dialogs[0].State != "early" || info.Dialogs[0].Local.Display != "Overdue 701" {
		t.Errorf("overdue key: %+v, want one early dialog shown as Overdue 701", info.Dialogs)
	}

	// Five more rounds, past max_recalls (3): nothing happens at all.
	for range 5 {
		advance(t, clock, 45*time.Second)
	}
	if parked.HungUp() {
		t.Fatal("the parked caller was hung up for a recall that had nobody to ring")
	}
	v := d.slot("701")
	if v.State != parkd.SlotParked || v.Call == nil || !v.Call.Overdue || v.Call.Recalls != 0 {
		t.Fatalf("slot 701 after six empty rounds: %s %+v; want parked, overdue, 0 recalls", v.State, v.Call)
	}
	noSlotEvents(t, d, "701")
	hearsMusic(t, parked, "overdue")
	if n := strings.Count(log.String(), "nobody to ring"); n != 1 {
		t.Errorf("six empty rounds logged %d lines about nobody to ring, want 1", n)
	}

	// Somebody to ring now: the next round rings them, and counts.
	bob := siptest.NewPhone(t, "bob")
	if err := d.srv.SetPolicy(context.Background(), parkd.SlotScope("701"), parkd.Policy{RingGroup: []string{bob.URI()}}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(45 * time.Second)
	ringing(t, bob)
	ev = d.waitEvent(parkd.EventRecalling, "701")
	if ev.Call.Overdue || ev.Call.Recalls != 1 {
		t.Errorf("recalling with a ring group: overdue %v, recalls %d; want not overdue, round 1", ev.Call.Overdue, ev.Call.Recalls)
	}
}

// A parker that is parkd's own address (its host with no port, or its
// host and SIP port) is no parker: never rung, the call is parked with
// the parker unknown and its recall goes overdue instead of into parkd.
func TestParkerThatIsParkdItself(t *testing.T) {
	for _, tc := range []struct {
		name   string
		parker func(d *daemon) string
	}{
		{"host without port", func(d *daemon) string { return "<sip:bob@127.0.0.1>" }},
		{"host and SIP port", func(d *daemon) string { return "<sip:bob@" + d.udp + ">" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := parkd.NewManualClock(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
			d := startDaemon(t, nil, parkd.WithClock(clock))
			parker := tc.parker(d)
			d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{Headers: [][2]string{{"Referred-By", parker}}})
			ev := d.waitEvent(parkd.EventParked, "701")
			if ev.Call.Parker != nil {
				t.Errorf("parker %+v taken from Referred-By %s, parkd's own address", ev.Call.Parker, parker)
			}
			advance(t, clock, 45*time.Second)
			d.waitEvent(parkd.EventOverdue, "701")

			// The API refuses it too.
			if err := d.srv.SetParker("701", parkd.Party{URI: strings.Trim(parker, "<>")}); err == nil {
				t.Errorf("SetParker(%s) accepted parkd's own address", parker)
			}
		})
	}
}

// A parker on parkd's host but another port (a phone or PBX beside it)
// is a real parker and is rung.
func TestParkerOnParkdsHostOtherPort(t *testing.T) {
	clock := parkd.NewManualClock(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	d := startDaemon(t, nil, parkd.WithClock(clock))
	bob := siptest.NewPhone(t, "bob")
	if !strings.Contains(bob.URI(), "@127.0.0.1:") {
		t.Fatalf("bob's URI %s is not on parkd's host with a port", bob.URI())
	}
	d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{Headers: [][2]string{{"Referred-By", "<" + bob.URI() + ">"}}})
	if ev := d.waitEvent(parkd.EventParked, "701"); ev.Call.Parker == nil {
		t.Fatal("a parker on parkd's host with another port was dropped")
	}
	clock.Advance(45 * time.Second)
	ringing(t, bob)
}

// lockedLog collects parkd's log lines for a test to count.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// testLoggerWriter keeps the harness's rule (an ERROR line fails the
// test) for a test that also reads the log.
func testLoggerWriter(t *testing.T) io.Writer { return loggerWriter{testLogger(t)} }

type loggerWriter struct{ log *slog.Logger }

func (w loggerWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("level=ERROR")) {
		w.log.Error(string(bytes.TrimSpace(p)))
	}
	return len(p), nil
}
