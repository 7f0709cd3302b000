package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/parkd/parkd/parkd"
)

func init() { time.Local = time.UTC } // table times print the same everywhere

var t0 = time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)

// runCtl runs the command line against fake with a fixed clock and no
// colour, returning the exit code and what was printed.
func runCtl(t *testing.T, ctx context.Context, fake parkd.Client, colour bool, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{
		stdout: &stdout, stderr: &stderr,
		getenv: func(string) string { return "" },
		colour: colour,
		newClient: func(clientOptions) (parkd.Client, error) {
			return fake, nil
		},
		now: func() time.Time { return t0 },
	}
	code := run(ctx, args, e)
	return code, stdout.String(), stderr.String()
}

func dur(d time.Duration) *parkd.Duration { x := parkd.Duration(d); return &x }
func at(d time.Duration) *time.Time       { x := t0.Add(d); return &x }
func str(s string) *string                { return &s }
func num(n int) *int                      { return &n }

var (
	alice = parkd.Party{Display: "Alice", Number: "alice", URI: "sip:alice@10.0.0.1"}
	bob   = parkd.Party{Display: "Bob", Number: "201", URI: "sip:201@10.0.0.2"}

	parkedCall = parkd.CallView{ID: "c1", State: "parked", Lot: "main", Slot: "701", Caller: alice,
		Parker: &bob, Since: t0.Add(-65 * time.Second), RecallAt: at(40 * time.Second)}
	recallingCall = parkd.CallView{ID: "c2", State: "recalling", Lot: "main", Slot: "703", Caller: parkd.Party{URI: "sip:carol@x"},
		Since: t0.Add(-2*time.Hour - 3*time.Minute), Recalling: "parker", Recalls: 1}
	queuedCall  = parkd.CallView{ID: "q1", State: "queued", Lot: "main", Caller: bob, Since: t0.Add(-12 * time.Second), Position: 1}
	ringingCall = parkd.CallView{ID: "c3", State: "ringing", Lot: "main", Slot: "704", Caller: alice, Since: t0.Add(-3 * time.Second), RingingTo: "sip:op@pbx"}
)

func fakeDaemon() *fakeClient {
	lot := parkd.LotView{Name: "main", Extension: "700", RetrieveExtension: "*700", AttendantExtension: "0",
		Operator: "sip:op@pbx", Slots: "701-720", Total: 20, Used: 2, Queued: 1, QueueMax: 10}
	return &fakeClient{
		status: parkd.Status{Version: "v1.0.0", Started: t0.Add(-3*time.Hour - 12*time.Minute),
			SIP: []string{"udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"}, Lots: []parkd.LotView{lot}, Calls: 3, LastEvent: 42},
		lots: []parkd.LotView{lot},
		slots: []parkd.SlotView{
			{Lot: "main", Slot: "701", State: "parked", Call: &parkedCall, Subscribers: 2},
			{Lot: "main", Slot: "702", State: "free"},
			{Lot: "main", Slot: "703", State: "recalling", Call: &recallingCall},
		},
		callsV: []parkd.CallView{parkedCall, queuedCall, ringingCall, {ID: "c4", State: "bridged", Lot: "main", Caller: bob, Peer: "c9", Since: t0.Add(-5 * time.Second)}},
		call:   parkedCall,
		slot:   parkd.SlotView{Lot: "main", Slot: "701", State: "parked", Call: &parkedCall},
		policy: parkd.PolicyView{Scope: "slots/701",
			Effective: parkd.Policy{RecallAfter: dur(2 * time.Minute), RecallTo: str("parker_then_group"), RingGroup: []string{"sip:a@pbx", "sip:b@pbx"}, MaxRecalls: num(3), ForwardTo: str("")},
			Sources: map[string]parkd.PolicySource{
				"recall_after": {Layer: "override", Key: "override slot/701"},
				"recall_to":    {Layer: "builtin", Key: "builtin"},
				"ring_group":   {Layer: "lot", Key: "lots[0].policy.ring_group"},
				"max_recalls":  {Layer: "defaults", Key: "defaults.max_recalls"},
			},
			Override: parkd.Policy{RecallAfter: dur(2 * time.Minute)}},
		history: parkd.HistoryPage{Entries: []parkd.HistoryEntry{
			{ID: 9, Time: t0.Add(-time.Minute), Lot: "main", Slot: "701", Caller: "Alice <sip:alice@10.0.0.1>", Parker: "Bob", Outcome: "retrieved", Parked: parkd.Duration(65 * time.Second)},
			{ID: 8, Time: t0.Add(-time.Hour), Lot: "main", Slot: "702", Caller: "<sip:carol@x>", Outcome: "abandoned", Detail: "caller hung up", Parked: parkd.Duration(3 * time.Second)},
		}, Next: "8"},
	}
}

// Each verb sends the right request and prints the right table; the
// tables are the contract people read, so they are compared whole.
func TestCtlVerbs(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		setup   func(*fakeClient)
		code    int
		request string // the fake's call log
		stdout  string
		stderr  string // a substring
	}{
		{name: "status", args: []string{"status"}, request: "Status()", stdout: `
parkd v1.0.0, up 3h12m (since 2025-03-01 06:18:00)
SIP         udp://127.0.0.1:5060, tcp://127.0.0.1:5060
calls       3
last event  42

LOT   EXTENSION  RETRIEVE  SLOTS    USED  QUEUED  ATTENDANT  OPERATOR
main  700        *700      701-720  2/20  1/10    0          sip:op@pbx
`},
		{name: "lots", args: []string{"lots"}, request: "Lots()", stdout: `
LOT   EXTENSION  RETRIEVE  SLOTS    USED  QUEUED  ATTENDANT  OPERATOR
main  700        *700      701-720  2/20  1/10    0          sip:op@pbx
`},
		{name: "lots json", args: []string{"lots", "--json"}, setup: func(f *fakeClient) { f.lots = f.lots[:1] }, request: "Lots()", stdout: `
{
  "lots": [
    {
      "name": "main",
      "extension": "700",
      "retrieve_extension": "*700",
      "attendant_extension": "0",
      "operator": "sip:op@pbx",
      "slots": "701-720",
      "total": 20,
      "used": 2,
      "queued": 1,
      "queue_max": 10
    }
  ]
}
`},
		{name: "no lots json", args: []string{"--json", "lots"}, setup: func(f *fakeClient) { f.lots = nil }, request: "Lots()", stdout: `
{
  "lots": []
}
`},
		{name: "slots", args: []string{"slots"}, request: "Slots({Lot: State:})", stdout: `
SLOT  LOT   STATE      CALLER                      PARKED  RECALL          PARKER  BLF
701   main  parked     Alice <sip:alice@10.0.0.1>  1m05s   40s             Bob     2
702   main  free
703   main  recalling  <sip:carol@x>               2h03m   ringing parker
`},
		{name: "slots filtered", args: []string{"slots", "--lot", "main", "--state", "parked"}, setup: func(f *fakeClient) { f.slots = nil },
			request: "Slots({Lot:main State:parked})", stdout: "\nSLOT  LOT  STATE  CALLER  PARKED  RECALL  PARKER  BLF\n"},
		{name: "slots bad state", args: []string{"slots", "--state", "busy"}, code: 2, stderr: `"busy" is not free, parked, recalling or retrieving`},
		{name: "slots with an argument", args: []string{"slots", "9999"}, code: 2, stderr: `parkd ctl slots: takes no arguments, got "9999"`},
		{name: "calls", args: []string{"calls"}, request: "Calls({Lot: State:})", stdout: `
ID  STATE    LOT   SLOT  CALLER                      WAITING  RECALL  DETAIL
c1  parked   main  701   Alice <sip:alice@10.0.0.1>  1m05s    40s     parked by Bob
q1  queued   main        Bob <sip:201@10.0.0.2>      12s              position 1
c3  ringing  main  704   Alice <sip:alice@10.0.0.1>  3s               ringing sip:op@pbx
c4  bridged  main        Bob <sip:201@10.0.0.2>      5s               with c9
`},
		{name: "calls queued", args: []string{"calls", "--state", "queued"}, setup: func(f *fakeClient) { f.callsV = nil },
			request: "Calls({Lot: State:queued})", stdout: "\nID  STATE  LOT  SLOT  CALLER  WAITING  RECALL  DETAIL\n"},
		{name: "park", args: []string{"park", "c1"}, request: "Park(c1, slot= lot= recall_after=nil parker=)",
			stdout: "\nparked c1 (Alice <sip:alice@10.0.0.1>) in 701, recall in 40s\n"},
		{name: "park with options", args: []string{"park", "c1", "705", "--lot", "main", "--recall-after", "2m", "--parker", "sip:201@pbx"},
			request: "Park(c1, slot=705 lot=main recall_after=2m parker=sip:201@pbx)"},
		{name: "park bare number", args: []string{"park", "c1", "--recall-after", "45"}, code: 2, stderr: `plain number 45 is not a duration`},
		{name: "park without a call", args: []string{"park"}, code: 2, stderr: "accepts between 1 and 2 arg(s), received 0"},
		{name: "park json", args: []string{"park", "c1", "--json"}, setup: func(f *fakeClient) { f.call = parkd.CallView{ID: "c1", Caller: parkd.Party{URI: "sip:a@x"}} },
			request: "Park(c1, slot= lot= recall_after=nil parker=)", stdout: `
{
  "id": "c1",
  "call_id": "",
  "local_tag": "",
  "remote_tag": "",
  "state": "",
  "caller": {
    "uri": "sip:a@x"
  },
  "parker": null,
  "since": "0001-01-01T00:00:00Z",
  "recall_at": null,
  "recalls": 0
}
`},
		{name: "park refused", args: []string{"park", "c1", "701"}, setup: func(f *fakeClient) {
			f.err = &parkd.Error{Code: parkd.CodeSlotFull, Message: "slot 701 holds a call"}
		}, code: 1, request: "Park(c1, slot=701 lot= recall_after=nil parker=)", stderr: "parkd ctl: slot 701 holds a call\n"},
		{name: "retrieve", args: []string{"retrieve", "701", "--to", "sip:op@pbx"}, setup: func(f *fakeClient) {
			k := parkedCall
			k.RingingTo = "sip:op@pbx"
			f.slot = parkd.SlotView{Slot: "701", State: "retrieving", Call: &k}
		}, request: "Retrieve(701, to=sip:op@pbx)", stdout: "\n701: retrieving c1 (Alice <sip:alice@10.0.0.1>), ringing sip:op@pbx\n"},
		{name: "retrieve to the operator", args: []string{"retrieve", "701"}, request: "Retrieve(701, to=)"},
		{name: "move", args: []string{"move", "701", "715"}, setup: func(f *fakeClient) {
			f.slot = parkd.SlotView{Slot: "715", State: "parked", Call: &parkedCall}
		}, request: "Move(701, 715)", stdout: "\nmoved c1 (Alice <sip:alice@10.0.0.1>) from 701 to 715\n"},
		{name: "move needs a target", args: []string{"move", "701"}, code: 2, stderr: "accepts 2 arg(s), received 1"},
		{name: "transfer", args: []string{"transfer", "q1", "sip:sales@pbx"}, setup: func(f *fakeClient) { f.call = queuedCall },
			request: "Transfer(q1, sip:sales@pbx)", stdout: "\nq1 (Bob <sip:201@10.0.0.2>): ringing sip:sales@pbx\n"},
		{name: "transfer to the operator", args: []string{"transfer", "q1"}, setup: func(f *fakeClient) { f.call = ringingCall },
			request: "Transfer(q1, )", stdout: "\nc3 (Alice <sip:alice@10.0.0.1>): ringing sip:op@pbx\n"},
		{name: "hangup a slot", args: []string{"hangup", "701"}, request: "Slot(701)\nHangup(c1)", stdout: "\nhung up c1 (Alice <sip:alice@10.0.0.1>)\n"},
		{name: "hangup a call", args: []string{"hangup", "q1"}, setup: func(f *fakeClient) {
			f.slotErr = &parkd.Error{Code: parkd.CodeNoSuchSlot, Message: "no slot q1"}
			f.call = queuedCall
		}, request: "Slot(q1)\nHangup(q1)", stdout: "\nhung up q1 (Bob <sip:201@10.0.0.2>)\n"},
		{name: "hangup an empty slot", args: []string{"hangup", "702"}, setup: func(f *fakeClient) {
			f.slot = parkd.SlotView{Slot: "702", State: "free"}
			f.err = &parkd.Error{Code: parkd.CodeNoSuchCall, Message: "no call 702"}
		}, code: 1, request: "Slot(702)\nHangup(702)", stderr: "parkd ctl: slot 702 holds no call\n"},
		{name: "hangup with the daemon away", args: []string{"hangup", "701"}, setup: func(f *fakeClient) {
			f.slotErr = &parkd.Error{Code: parkd.CodeUnavailable, Message: "cannot reach parkd at http://127.0.0.1:7080: connection refused"}
		}, code: 1, request: "Slot(701)", stderr: "parkd ctl: cannot reach parkd at http://127.0.0.1:7080: connection refused\n"},
		{name: "policy get", args: []string{"policy", "get", "slots/701"}, request: "Policy(slots/701)", stdout: `
scope slots/701

KEY              VALUE                   FROM                       OVERRIDE
recall_after     2m                      override slot/701          2m
ring_parker_for  -
recall_to        parker_then_group       builtin
ring_group       [sip:a@pbx, sip:b@pbx]  lots[0].policy.ring_group
ring_group_for   -
on_failure       -
forward_to       ""
max_recalls      3                       defaults.max_recalls
presence_type    -
presence_id      -
moh              -
`},
		{name: "policy get bad scope", args: []string{"policy", "get", "slot/701"}, code: 2, stderr: `scope "slot/701" is not defaults, lots/NAME or slots/NUMBER`},
		{name: "policy without verb", args: []string{"policy"}, code: 2, stderr: "missing verb, one of: clear, get, set"},
		{name: "policy unknown verb", args: []string{"policy", "gte", "defaults"}, code: 2, stderr: `unknown command "gte" for "parkd ctl policy"; did you mean get?`},
		{name: "policy set", args: []string{"policy", "set", "lots/main", "recall_after=2m", "max_recalls=1", "ring_group=sip:a@pbx, sip:b@pbx", "on_failure=forward", "forward_to=sip:op@pbx"},
			request: "PatchPolicy(lots/main, set=recall_after=2m,ring_group=[sip:a@pbx, sip:b@pbx],on_failure=forward,forward_to=sip:op@pbx,max_recalls=1 clear=)"},
		{name: "policy set empty ring group", args: []string{"policy", "set", "defaults", "ring_group="},
			request: "PatchPolicy(defaults, set=ring_group=[] clear=)"},
		{name: "policy set unknown key", args: []string{"policy", "set", "defaults", "recal_after=2m"}, code: 2, stderr: `unknown policy key "recal_after"; keys: recall_after, ring_parker_for`},
		{name: "policy set bad number", args: []string{"policy", "set", "defaults", "max_recalls=three"}, code: 2, stderr: `max_recalls: "three" is not a whole number`},
		{name: "policy set bad duration", args: []string{"policy", "set", "defaults", "recall_after=soon"}, code: 2, stderr: `recall_after: "soon" is not a duration`},
		{name: "policy set not an assignment", args: []string{"policy", "set", "defaults", "recall_after"}, code: 2, stderr: `"recall_after" is not KEY=VALUE`},
		{name: "policy set twice", args: []string{"policy", "set", "defaults", "max_recalls=1", "max_recalls=2"}, code: 2, stderr: `max_recalls is given twice`},
		{name: "policy set nothing", args: []string{"policy", "set", "defaults"}, code: 2, stderr: "requires at least 2 arg(s)"},
		{name: "policy set refused", args: []string{"policy", "set", "defaults", "recall_after=1s"}, setup: func(f *fakeClient) {
			f.err = &parkd.Error{Code: parkd.CodeInvalidField, Field: "recall_after", Message: "must be between 5s and 1h (got 1s)"}
		}, code: 1, request: "PatchPolicy(defaults, set=recall_after=1s clear=)", stderr: "parkd ctl: recall_after: must be between 5s and 1h (got 1s)\n"},
		{name: "policy clear all", args: []string{"policy", "clear", "slots/701"}, request: "ClearPolicy(slots/701)"},
		{name: "policy clear keys", args: []string{"policy", "clear", "lots/main", "recall_after", "ring_group"},
			request: "PatchPolicy(lots/main, set= clear=recall_after,ring_group)"},
		{name: "policy clear unknown key", args: []string{"policy", "clear", "defaults", "bogus"}, code: 2, stderr: `unknown policy key "bogus"`},
		{name: "history", args: []string{"history"}, request: "History(lot= slot= caller= outcome= since=0001-01-01T00:00:00Z until=0001-01-01T00:00:00Z limit=0 cursor=)", stdout: `
TIME                 LOT   SLOT  OUTCOME    CALLER                      PARKER  PARKED  DETAIL
2025-03-01 09:29:00  main  701   retrieved  Alice <sip:alice@10.0.0.1>  Bob     1m05s
2025-03-01 08:30:00  main  702   abandoned  <sip:carol@x>                       3s      caller hung up
`, stderr: "more: run parkd ctl history again with the same filters and --cursor 8\n"},
		{name: "history filters", args: []string{"history", "--lot", "main", "--slot", "701", "--caller", "alice", "--outcome", "retrieved",
			"--since", "2h", "--until", "2025-03-01T09:00:00Z", "--limit", "5", "--cursor", "abc"}, setup: func(f *fakeClient) { f.history = parkd.HistoryPage{} },
			request: "History(lot=main slot=701 caller=alice outcome=retrieved since=2025-03-01T07:30:00Z until=2025-03-01T09:00:00Z limit=5 cursor=abc)"},
		{name: "history local date", args: []string{"history", "--since", "2025-02-28"}, setup: func(f *fakeClient) { f.history = parkd.HistoryPage{} },
			request: "History(lot= slot= caller= outcome= since=2025-02-28T00:00:00Z until=0001-01-01T00:00:00Z limit=0 cursor=)"},
		{name: "history json", args: []string{"history", "--json"}, setup: func(f *fakeClient) { f.history = parkd.HistoryPage{} },
			request: "History(lot= slot= caller= outcome= since=0001-01-01T00:00:00Z until=0001-01-01T00:00:00Z limit=0 cursor=)", stdout: "\n{\n  \"entries\": []\n}\n"},
		{name: "history bad time", args: []string{"history", "--since", "yesterday"}, code: 2, stderr: `"yesterday" is not a time`},
		{name: "history bad limit", args: []string{"history", "--limit", "-1"}, code: 2, stderr: "--limit: must not be negative"},
		{name: "unknown verb", args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate" for "parkd ctl"`},
		{name: "near miss", args: []string{"slot"}, code: 2, stderr: "did you mean lots or slots?"},
		{name: "no verb", args: []string{}, code: 2, stderr: "missing verb"},
		{name: "unknown flag", args: []string{"lots", "--bogus"}, code: 2, stderr: "unknown flag: --bogus"},
		{name: "unauthorized", args: []string{"lots"}, setup: func(f *fakeClient) {
			f.err = &parkd.Error{Code: parkd.CodeUnauthorized, Message: "unauthorized: the API token is missing or wrong"}
		}, code: 1, request: "Lots()", stderr: "parkd ctl: unauthorized: the API token is missing or wrong\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeDaemon()
			if tc.setup != nil {
				tc.setup(fake)
			}
			code, stdout, stderr := runCtl(t, t.Context(), fake, false, append([]string{"ctl"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, stdout, stderr)
			}
			if got := fake.log(); tc.request != "" && got != tc.request {
				t.Errorf("requests:\n%s\nwant:\n%s", got, tc.request)
			}
			if tc.code == 2 && fake.log() != "" {
				t.Errorf("a usage error reached the daemon: %s", fake.log())
			}
			if tc.stdout != "" && stdout != tc.stdout[1:] {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tc.stdout[1:])
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.stderr)
			}
		})
	}
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// Colour must not break the alignment: without the escapes, the coloured
// table is the plain one.
func TestColourKeepsColumns(t *testing.T) {
	for _, args := range [][]string{{"ctl", "slots"}, {"ctl", "calls"}, {"ctl", "history"}} {
		_, plain, _ := runCtl(t, t.Context(), fakeDaemon(), false, args...)
		_, coloured, _ := runCtl(t, t.Context(), fakeDaemon(), true, args...)
		if coloured == plain || !strings.Contains(coloured, "\x1b[33mparked\x1b[0m") && !strings.Contains(coloured, "\x1b[32mretrieved\x1b[0m") {
			t.Errorf("%v: no colour:\n%s", args, coloured)
		}
		if got := ansi.ReplaceAllString(coloured, ""); got != plain {
			t.Errorf("%v: coloured table misaligned:\n%s\nplain:\n%s", args, got, plain)
		}
	}
}

// Every command answers --help with exit 0 and never reaches the daemon.
func TestHelpOnEveryCommand(t *testing.T) {
	var walk func(c *cobra.Command)
	var paths [][]string
	walk = func(c *cobra.Command) {
		paths = append(paths, strings.Fields(c.CommandPath())[1:])
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(&env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }}))
	if len(paths) < 16 {
		t.Fatalf("only %d commands: %v", len(paths), paths)
	}
	for _, p := range paths {
		fake := &fakeClient{}
		code, stdout, stderr := runCtl(t, t.Context(), fake, false, append(p, "--help")...)
		if code != 0 || !strings.Contains(stdout, "Usage:") || fake.log() != "" {
			t.Errorf("%v --help: exit %d, requests %q\n%s%s", p, code, fake.log(), stdout, stderr)
		}
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, stdout, stderr := runCtl(t, t.Context(), &fakeClient{}, false, "completion", shell)
		if code != 0 || !strings.Contains(stdout, "parkd") {
			t.Errorf("completion %s: exit %d\n%s", shell, code, stderr)
		}
	}
	// Dynamic completion of a policy key, as a shell asks for it.
	_, stdout, _ := runCtl(t, t.Context(), &fakeClient{}, false, "__complete", "ctl", "policy", "set", "defaults", "rec")
	if !strings.Contains(stdout, "recall_after=") {
		t.Errorf("no key completion:\n%s", stdout)
	}
}

// A bad address names where it came from: the flag or $PARKD_API.
func TestBadAPIAddress(t *testing.T) {
	for _, tc := range []struct {
		envAPI string
		args   []string
		want   string
	}{
		{"", []string{"ctl", "--api", "ftp://x", "--token", "t", "lots"}, "parkd ctl: flag --api: parkd API address \"ftp://x\": scheme must be http or https\n"},
		{"ftp://y", []string{"ctl", "--token", "t", "lots"}, "parkd ctl: PARKD_API: parkd API address \"ftp://y\": scheme must be http or https\n"},
	} {
		var stdout, stderr bytes.Buffer
		e := &env{stdout: &stdout, stderr: &stderr, newClient: dialDaemon, now: time.Now,
			getenv: func(k string) string {
				if k == "PARKD_API" {
					return tc.envAPI
				}
				return ""
			}}
		if code := run(t.Context(), tc.args, e); code != 2 || stderr.String() != tc.want {
			t.Errorf("%v: exit %d, stderr %q; want 2, %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
