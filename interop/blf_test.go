package interop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/siptest"
)

// TestSippBLFSubscribe: sipp is a BLF key watching slot 701, with Event:
// dialog (blf_subscribe.xml) or Event: presence (blf_presence.xml). The
// scenario checks every NOTIFY as it comes: the slot empty; occupied once
// the test parks a call there from "Alice" with the scripted phone (for
// dialog, one early dialog with the call's identifiers; for presence,
// closed with "Parked: Alice"); empty again after the phone hangs up; then
// a final NOTIFY (terminated) for its unsubscribe. The scenario logs what
// it saw; the test waits for each log line before it changes the slot and,
// for dialog, compares the logged identifiers with the parked call's.
func TestSippBLFSubscribe(t *testing.T) {
	for _, event := range []struct {
		name, scenario string
		// parked compares the scenario's log of the NOTIFY for the parked
		// call with the call, and lists what differs.
		parked func(logged map[string]string, call *siptest.Call, caller *siptest.Phone) []string
	}{
		{"dialog", "blf_subscribe.xml", checkParkedDialog},
		{"presence", "blf_presence.xml", func(logged map[string]string, _ *siptest.Call, _ *siptest.Phone) []string {
			if logged["tuple_id"] == "" {
				return []string{"NOTIFY for the parked call: no tuple id logged"}
			}
			return nil
		}},
	} {
		for _, transport := range []string{"u1", "t1"} {
			t.Run(event.name+"-"+map[string]string{"u1": "udp", "t1": "tcp"}[transport], func(t *testing.T) {
				d := startDaemon(t)
				dir := filepath.Join(t.TempDir(), "blf")
				done := goSipp(t, d, "blf", sippRun{
					scenario: event.scenario, service: "701", transport: transport,
					timeout: 60 * time.Second, dir: dir,
				})
				w := &sippLogWatch{t: t, d: d, dir: dir, done: done}

				// 1. Subscribed; the initial NOTIFY (empty slot) is answered.
				sub := w.wait("blf_subscribed", 15*time.Second)
				empty := w.wait("blf_notify_empty", 15*time.Second)
				if got, want := empty["entity"], "sip:701@127.0.0.1"; got != want {
					t.Errorf("entity = %q, want %q", got, want)
				}
				if sub["tag"] == "" || empty["from_tag"] != sub["tag"] {
					t.Errorf("the NOTIFY's From-tag %q is not the To-tag %q of the 200 to SUBSCRIBE", empty["from_tag"], sub["tag"])
				}

				// 2. Alice parks: slot 701, the lot's first free slot.
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				alice := siptest.NewPhone(t, "alice", siptest.WithDisplay("Alice"))
				call, err := alice.Dial(ctx, "sip:700@"+d.sipAddr(), siptest.CallOptions{})
				if err != nil {
					t.Fatalf("parking Alice: %v\n%s", err, d.logTail(40))
				}
				if call.Status() != 200 {
					t.Fatalf("parking Alice: %d %s\n%s", call.Status(), call.Warning(), d.logTail(40))
				}
				mismatches := event.parked(w.wait("blf_notify_parked", 15*time.Second), call, alice)

				// 3. Alice hangs up; the scenario sees the slot empty again,
				// unsubscribes and takes the final NOTIFY.
				if bye, err := call.Hangup(ctx); err != nil || bye.StatusCode != 200 {
					t.Fatalf("Alice's BYE: %v %v\n%s", bye, err, d.logTail(40))
				}
				res := <-done // the run has its own time limit
				if res.err != nil && len(mismatches) > 0 {
					// A failed check in sipp may leave values unlogged: its
					// own report comes first.
					t.Errorf("and what it logged of the parked call is wrong:\n%s", strings.Join(mismatches, "\n"))
				}
				res.check(t, d)
				for _, m := range mismatches {
					t.Error(m)
				}
				log := res.file("actions.log")
				for _, want := range []string{"blf_notify_hungup", "blf_unsubscribed", "blf_terminated"} {
					if !strings.Contains(log, want) {
						t.Errorf("sipp exited 0 but never logged %q:\n%s", want, res.report())
					}
				}
			})
		}
	}
}

// checkParkedDialog compares the dialog identifiers sipp logged from the
// version-1 dialog-info with the parked call: they are the call's own, so
// that a phone can build the Replaces of a pickup from them.
func checkParkedDialog(logged map[string]string, call *siptest.Call, caller *siptest.Phone) []string {
	var out []string
	for _, c := range []struct{ field, got, want string }{
		{"call-id (the parked call's Call-ID)", logged["call_id"], call.CallID()},
		{"local-tag (parkd's To-tag of the parked call)", logged["local_tag"], call.ToTag()},
		{"remote-tag (the caller's From-tag)", logged["remote_tag"], call.FromTag()},
		{"dialog id", logged["dialog_id"], "701-" + call.ToTag()},
		{"local identity", logged["local_uri"], "sip:701@127.0.0.1"},
		{"remote identity", logged["remote_uri"], caller.URI()},
		{"remote target", logged["remote_target"], caller.URI()},
	} {
		if c.got != c.want || c.want == "" {
			out = append(out, fmt.Sprintf("NOTIFY version 1: %s = %q, want %q", c.field, c.got, c.want))
		}
	}
	return out
}

// TestSippBLFScenarioNotifyFirst tests blf_subscribe.xml itself, against
// a sipp UAS (blf_notify_first_uas.xml) that sends each NOTIFY before the
// 200 of the SUBSCRIBE it answers, as RFC 6665 allows: parkd sends the 200
// first, so only this drives the scenario's other branches. The fake's
// NOTIFY bodies have parkd's shape with fixed dialog identifiers, which
// the scenario must log back.
func TestSippBLFScenarioNotifyFirst(t *testing.T) {
	requireSipp(t)
	for _, transport := range []string{"u1", "t1"} {
		name := map[string]string{"u1": "udp", "t1": "tcp"}[transport]
		t.Run(name, func(t *testing.T) {
			port := freeSIPPort(t)
			server := goSipp(t, nil, "fake-server", sippRun{
				scenario: "blf_notify_first_uas.xml", service: "701", transport: transport,
				remote: sippAsUAS, port: port, timeout: 30 * time.Second,
			})
			waitListening(t, name, port, server)
			res := runSipp(t, nil, "blf", sippRun{
				scenario: "blf_subscribe.xml", service: "701", transport: transport,
				remote: fmt.Sprintf("127.0.0.1:%d", port), timeout: 30 * time.Second,
			})
			res.check(t, nil)
			(<-server).check(t, nil)

			// The order on the wire is the one meant: NOTIFY, then 200.
			received := sippReceived.FindAllStringSubmatch(res.file("messages.log"), -1)
			var got []string
			for _, m := range received {
				got = append(got, m[1]+m[2]+" "+m[3]) // "NOTIFY 1", "200 1"
			}
			if len(got) != 6 || got[0] != "NOTIFY 1" || got[1] != "200 1" || got[4] != "NOTIFY 4" || got[5] != "200 2" {
				t.Fatalf("the fake server did not send each NOTIFY first; the subscriber received (start line, CSeq): %q", got)
			}
			w := &sippLogWatch{t: t, dir: res.dir}
			parked, ok := w.find("blf_notify_parked")
			if !ok {
				t.Fatalf("sipp exited 0 without logging the version-1 NOTIFY:\n%s", res.report())
			}
			for k, want := range map[string]string{
				"dialog_id": "701-fakeLocalTag", "call_id": "fake-call-id@fake",
				"local_tag": "fakeLocalTag", "remote_tag": "fakeRemoteTag",
				"local_uri": "sip:701@127.0.0.1", "remote_uri": "sip:alice@127.0.0.1:5999",
				"remote_target": "sip:alice@127.0.0.1:5999",
			} {
				if parked[k] != want {
					t.Errorf("logged %s=%q, want %q", k, parked[k], want)
				}
			}
			if !strings.Contains(res.file("actions.log"), "blf_terminated") {
				t.Errorf("sipp exited 0 without logging blf_terminated:\n%s", res.report())
			}
		})
	}
}

// sippReceived finds, in sipp's -trace_msg file, each message received:
// its start line's first word (method or "SIP/2.0") and status, and CSeq.
var sippReceived = regexp.MustCompile(`message received \[\d+\] bytes :\s*\n\s*(?:SIP/2\.0 (\d+)|(\w+)) [^\n]*\n(?:[^\n]+\n)*?CSeq: *(\d+)`)

// sippLogWatch follows the -trace_logs file of a running sipp, whose
// scenario writes "marker key=value …" lines with <log> actions.
type sippLogWatch struct {
	t    *testing.T
	d    *daemon
	dir  string
	done <-chan *sippResult
}

// wait polls until a line starting with marker appears and returns its
// key=value fields; it fails the test if sipp exits or the time runs out
// first.
func (w *sippLogWatch) wait(marker string, timeout time.Duration) map[string]string {
	w.t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if fields, ok := w.find(marker); ok {
			return fields
		}
		select {
		case res := <-w.done:
			if _, ok := w.find(marker); ok { // logged just before it ended
				w.t.Fatalf("sipp logged %q but exited before the test went on:\n%s\n%s", marker, res.report(), w.d.logTail(60))
			}
			w.t.Fatalf("sipp exited before logging %q:\n%s\n%s", marker, res.report(), w.d.logTail(60))
		case <-deadline:
			w.t.Fatalf("sipp did not log %q within %s; its log so far:\n%s\n%s",
				marker, timeout, tail(w.read(), 20), w.d.logTail(60))
		case <-tick.C:
		}
	}
}

var logField = regexp.MustCompile(`(\w+)=(\S*)`)

// find returns the fields of the first line starting with marker.
func (w *sippLogWatch) find(marker string) (map[string]string, bool) {
	for _, line := range strings.Split(w.read(), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), marker)
		if !ok || (rest != "" && rest[0] != ' ') {
			continue
		}
		fields := map[string]string{}
		for _, m := range logField.FindAllStringSubmatch(rest, -1) {
			fields[m[1]] = m[2]
		}
		return fields, true
	}
	return nil, false
}

func (w *sippLogWatch) read() string {
	b, _ := os.ReadFile(filepath.Join(w.dir, "actions.log"))
	return string(b)
}

// waitListening waits until a sipp UAS has bound its SIP port, which
// /proc/net shows on Linux (elsewhere it waits a moment), failing the test
// if that sipp exits first.
func waitListening(t *testing.T, network string, port int, done <-chan *sippResult) {
	t.Helper()
	table, state := "/proc/net/udp", "07" // unconnected socket
	if network == "tcp" {
		table, state = "/proc/net/tcp", "0A" // LISTEN
	}
	if _, err := os.Stat(table); err != nil {
		time.Sleep(500 * time.Millisecond)
		return
	}
	local := fmt.Sprintf(":%04X", port)
	deadline := time.After(10 * time.Second)
	for {
		b, _ := os.ReadFile(table)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 3 && strings.HasSuffix(f[1], local) && f[3] == state {
				return
			}
		}
		select {
		case res := <-done:
			t.Fatalf("sipp exited before listening on %s port %d:\n%s", network, port, res.report())
		case <-deadline:
			t.Fatalf("sipp did not listen on %s port %d within 10 s", network, port)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
