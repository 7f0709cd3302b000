package parkd_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

// logBuffer keeps what a daemon logs for a test to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the lines holding every one of subs.
func (b *logBuffer) lines(subs ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
next:
	for _, l := range strings.Split(b.buf.String(), "\n") {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// startLoggingDaemon is startDaemon with its log kept in log.
func startLoggingDaemon(t *testing.T, log *logBuffer, opts ...parkd.Option) *daemon {
	t.Helper()
	cfg := parkd.DefaultConfig()
	cfg.SIP.Listen = []string{"udp://127.0.0.1:0"}
	cfg.RTP.Ports = nextRTPPorts()
	cfg.Data = t.TempDir()
	srv, err := parkd.New(cfg, slog.New(slog.NewTextHandler(log, nil)), opts...)
	if err != nil {
		t.Fatalf("starting parkd: %v", err)
	}
	d := &daemon{t: t, srv: srv, udp: srv.SIPAddrs()[0].Addr, done: make(chan struct{})}
	d.events, _ = srv.Events(1024)
	ctx, cancel := context.WithCancel(context.Background())
	d.stop = cancel
	go func() { defer close(d.done); srv.Run(ctx) }()
	t.Cleanup(d.shutdown)
	t.Cleanup(func() {
		for _, l := range log.lines("level=ERROR") {
			t.Errorf("parkd logged an error: %s", l)
		}
	})
	return d
}

// When one leg of a retrieved call hangs up, the log names that leg (not
// "caller" whoever it was), and the other leg's BYE says who left with
// Q.850 cause 16, normal call clearing.
func TestHangupNamesTheLeg(t *testing.T) {
	for _, tc := range []struct{ leaver, leg, notLeg string }{
		{"retriever", "retriever", "caller"},
		{"parked", "caller", "retriever"},
	} {
		t.Run(tc.leaver+" hangs up", func(t *testing.T) {
			var log logBuffer
			d := startLoggingDaemon(t, &log)
			parked := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
			d.waitEvent(parkd.EventParked, "701")
			retriever := d.dial(siptest.NewPhone(t, "bob"), "701", 200, siptest.CallOptions{})
			d.waitEvent(parkd.EventRetrieved, "701")
			leaver, other := parked, retriever
			if tc.leaver == "retriever" {
				leaver, other = retriever, parked
			}
			if res, err := leaver.Hangup(ctxFor(t, 3*time.Second)); err != nil || res.StatusCode != 200 {
				t.Fatalf("BYE: %v %v", res, err)
			}
			bye, err := other.WaitHangup(ctxFor(t, 3*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			reason := bye.GetHeader("Reason")
			if reason == nil || !strings.HasPrefix(reason.Value(), `Q.850;cause=16;text="Normal call clearing"`) {
				t.Errorf("BYE Reason %v, want Q.850 cause 16 first", reason)
			}
			if reason == nil || !strings.Contains(reason.Value(), "the "+tc.leg+" hung up") {
				t.Errorf("BYE Reason %v, want it to say the %s hung up", reason, tc.leg)
			}
			// The BYE to the other leg is sent after the line is written.
			if got := log.lines(`msg="the `+tc.leg+` hung up"`, "call_id="+leaver.CallID()); len(got) != 1 {
				t.Errorf("%d lines say the %s hung up with its call_id, want 1:\n%s", len(got), tc.leg, strings.Join(log.lines("hung up"), "\n"))
			}
			if got := log.lines(tc.notLeg+` hung up"`, "call_id="+leaver.CallID()); len(got) != 0 {
				t.Errorf("the %s hung up, but the log says:\n%s", tc.leg, strings.Join(got, "\n"))
			}
		})
	}
}

// Whatever ends a call from parkd's side, its BYE gives a Q.850 cause:
// 16 for the attendant hanging up, and the rule in parkd's own words.
func TestAttendantHangupByeCarriesQ850(t *testing.T) {
	d := startDaemon(t, nil)
	call := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	ev := d.waitEvent(parkd.EventParked, "701")
	if _, err := d.srv.Hangup(ctxFor(t, 3*time.Second), ev.Call.ID); err != nil {
		t.Fatal(err)
	}
	bye, err := call.WaitHangup(ctxFor(t, 3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := `Q.850;cause=16;text="Normal call clearing", SIP;cause=200;text="` + parkd.HangupByAttendant + `"`
	if r := bye.GetHeader("Reason"); r == nil || r.Value() != want {
		t.Errorf("BYE Reason %v, want %s", r, want)
	}
}

// A recall target that hangs up is named as such, not as the caller whose
// logger its leg shares.
func TestRecallTargetHangupNamesTheLeg(t *testing.T) {
	var log logBuffer
	clock := parkd.NewManualClock(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	d := startLoggingDaemon(t, &log, parkd.WithClock(clock))
	bob := siptest.NewPhone(t, "bob")
	parked := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{Headers: [][2]string{{"Referred-By", "<" + bob.URI() + ">"}}})
	d.waitEvent(parkd.EventParked, "701")
	clock.Advance(45 * time.Second)
	recall := answer(t, ringing(t, bob))
	d.waitEvent(parkd.EventRecalled, "701")
	if _, err := recall.Hangup(ctxFor(t, 3*time.Second)); err != nil {
		t.Fatal(err)
	}
	bye, err := parked.WaitHangup(ctxFor(t, 3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if r := bye.GetHeader("Reason"); r == nil || !strings.Contains(r.Value(), "the recall target hung up") {
		t.Errorf("the parked caller's BYE Reason %v, want it to say the recall target hung up", r)
	}
	if got := log.lines(`msg="the recall target hung up"`, "recall_call_id="+recall.CallID()); len(got) != 1 {
		t.Errorf("%d lines say the recall target hung up, want 1:\n%s", len(got), strings.Join(log.lines("hung up"), "\n"))
	}
	if got := log.lines(`caller hung up"`); len(got) != 0 {
		t.Errorf("the recall target hung up, but the log says:\n%s", strings.Join(got, "\n"))
	}
}

// On shutdown the BYEs say parkd is going away (Q.850 41, temporary
// failure: call again), not that someone hung up.
func TestShutdownByeCarriesTemporaryFailure(t *testing.T) {
	d := startDaemon(t, nil)
	call := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	go d.shutdown()
	bye, err := call.WaitHangup(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if r := bye.GetHeader("Reason"); r == nil || !strings.HasPrefix(r.Value(), `Q.850;cause=41;text="Temporary failure"`) {
		t.Errorf("shutdown BYE Reason %v, want Q.850 cause 41", r)
	}
}
