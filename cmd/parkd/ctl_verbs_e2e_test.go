package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/siptest"
)

// `parkd ctl` as a subprocess against a running daemon with real SIP
// phones: every verb, in human and --json form, with its exit code and
// its effect on the daemon as ctl itself reports it afterwards.
func TestCtlVerbsWithCalls(t *testing.T) {
	start := time.Now()
	// The phones outlive the daemon (cleanups run last-in first-out), so
	// the BYEs of its shutdown reach phones that answer them.
	bob := siptest.NewPhone(t, "bob", siptest.WithDisplay("Bob"))
	reception := siptest.NewPhone(t, "reception", siptest.WithDisplay("Reception"))
	callers := map[string]*siptest.Phone{}
	for _, name := range []string{"Alice", "Carol", "Dave", "Erin", "Frank", "Gina"} {
		callers[name] = siptest.NewPhone(t, strings.ToLower(name), siptest.WithDisplay(name))
	}
	d := startVerbsDaemon(t, bob.URI())

	var st struct {
		SIP  []string `json:"sip"`
		Lots []struct {
			Name     string `json:"name"`
			Operator string `json:"operator"`
		} `json:"lots"`
		Calls int `json:"calls"`
	}
	d.verbJSON(t, &st, "status")
	if len(st.SIP) == 0 || !strings.HasPrefix(st.SIP[0], "udp://127.0.0.1:") {
		t.Fatalf("status --json lists no UDP listener: %+v", st)
	}
	sip := strings.TrimPrefix(st.SIP[0], "udp://")

	vars := map[string]string{"bob": bob.URI(), "reception": reception.URI(), "sip": st.SIP[0]}
	for name, p := range callers {
		vars[strings.ToLower(name)+"Party"] = name + " <" + p.URI() + ">"
	}
	expand := func(t *testing.T, s string, quote bool) string {
		return regexp.MustCompile(`\{[a-zA-Z]+\}`).ReplaceAllStringFunc(s, func(k string) string {
			v, ok := vars[k[1:len(k)-1]]
			if !ok {
				t.Fatalf("no value for %s in %q", k, s)
			}
			if quote {
				return regexp.QuoteMeta(v)
			}
			return v
		})
	}

	calls := map[string]*siptest.Call{} // by caller name: the phones' own legs
	// dial places a call from the named caller and waits until ctl lists it
	// in state; its id becomes {name}.
	dial := func(t *testing.T, name, ext, state string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := callers[name].Dial(ctx, "sip:"+ext+"@"+sip, siptest.CallOptions{})
		if err != nil || c.Status() != 200 {
			t.Fatalf("%s dialling %s: %v (status %d)\n%s", name, ext, err, statusOf(c), d.stderr)
		}
		calls[name] = c
		k := d.waitCall(t, name+" "+state, func(k verbCall) bool { return k.Caller.Name == name && k.State == state })
		vars[strings.ToLower(name)] = k.ID
	}
	// ring takes the next call ringing at p, checks who it says is
	// calling, and answers or rejects it.
	answered := map[string]*siptest.Call{}
	ring := func(t *testing.T, p *siptest.Phone, wantFrom string, reject int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		in, err := p.Incoming(ctx)
		if err != nil {
			t.Fatalf("%s never rang: %v\n%s", p.User, err, d.stderr)
		}
		if display, _ := in.From(); display != wantFrom {
			t.Errorf("%s rang with From %q, want %q", p.User, display, wantFrom)
		}
		if reject != 0 {
			if err := in.Reject(reject); err != nil {
				t.Fatalf("%s rejecting: %v", p.User, err)
			}
			return
		}
		c, err := in.Answer(ctx)
		if err != nil {
			t.Fatalf("%s answering: %v", p.User, err)
		}
		answered[p.User+" "+wantFrom] = c
	}
	// hungUp waits for the far end's BYE on c.
	hungUp := func(t *testing.T, who string, c *siptest.Call) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if c == nil {
			t.Fatalf("%s has no call", who)
		}
		if _, err := c.WaitHangup(ctx); err != nil {
			t.Errorf("%s: %v", who, err)
		}
	}
	// slotIs waits until slot is in state with the named caller's call
	// ("" for none).
	slotIs := func(t *testing.T, slot, state, caller string) {
		t.Helper()
		d.waitSlots(t, fmt.Sprintf("slot %s %s %s", slot, state, caller), func(m map[string]verbSlot) bool {
			s := m[slot]
			if s.State != state || (s.Call == nil) != (caller == "") {
				return false
			}
			return s.Call == nil || (s.Call.Caller.Name == caller && s.Call.ID == vars[strings.ToLower(caller)])
		})
	}
	callIs := func(t *testing.T, name, state string) verbCall {
		t.Helper()
		id := vars[strings.ToLower(name)]
		return d.waitCall(t, name+" "+state, func(k verbCall) bool { return k.ID == id && k.State == state })
	}
	callGone := func(t *testing.T, name string) {
		t.Helper()
		id := vars[strings.ToLower(name)]
		d.waitCalls(t, name+" gone", func(m map[string]verbCall) bool { _, ok := m[id]; return !ok })
	}
	decode := func(t *testing.T, out []byte, v any) {
		t.Helper()
		if err := json.Unmarshal(out, v); err != nil {
			t.Fatalf("not JSON (%v):\n%s", err, out)
		}
	}

	rows := []verbRow{
		// What is there before any call.
		{name: "status", args: []string{"status"},
			out:   []string{"SIP         {sip}", "calls       0"},
			outRE: []string{`(?m)^parkd \S+, up `, `(?m)^main\s+700\s+\*700\s+701-720\s+0/20\s+\S+\s+0\s+{bob}$`}},
		{name: "status --json", args: []string{"--json", "status"}, json: func(t *testing.T, out []byte) {
			decode(t, out, &st)
			if st.Calls != 0 || len(st.Lots) != 1 || st.Lots[0].Name != "main" || st.Lots[0].Operator != bob.URI() {
				t.Errorf("status --json: %s", out)
			}
		}},
		{name: "lots", args: []string{"lots"},
			outRE: []string{`(?m)^LOT\s+EXTENSION\s+RETRIEVE\s+SLOTS\s+USED\s+QUEUED\s+ATTENDANT\s+OPERATOR$`,
				`(?m)^main\s+700\s+\*700\s+701-720\s+0/20\s+\S+\s+0\s+{bob}$`}},
		{name: "lots --json", args: []string{"lots", "--json"}, json: func(t *testing.T, out []byte) {
			var v struct {
				Lots []struct {
					Name, Extension, Slots, Operator string
					Retrieve                         string `json:"retrieve_extension"`
					Attendant                        string `json:"attendant_extension"`
				}
			}
			decode(t, out, &v)
			if len(v.Lots) != 1 || v.Lots[0].Name != "main" || v.Lots[0].Extension != "700" || v.Lots[0].Retrieve != "*700" ||
				v.Lots[0].Attendant != "0" || v.Lots[0].Slots != "701-720" || v.Lots[0].Operator != bob.URI() {
				t.Errorf("lots --json: %s", out)
			}
		}},

		// Usage errors: exit 2, before any request.
		{name: "park without a call", args: []string{"park"}, code: 2, errOut: []string{"accepts between 1 and 2 arg(s), received 0"}},
		{name: "unknown verb", args: []string{"frobnicate"}, code: 2, errOut: []string{`unknown command "frobnicate"`}},
		{name: "slots --state bogus", args: []string{"slots", "--state", "bogus"}, code: 2, errOut: []string{"--state", `"bogus"`}},
		{name: "calls --state bogus", args: []string{"calls", "--state", "bogus"}, code: 2, errOut: []string{"--state", `"bogus"`}},
		{name: "policy set unknown key", args: []string{"policy", "set", "slots/702", "recal_after=1m"}, code: 2, errOut: []string{`unknown policy key "recal_after"`}},

		// Alice parks herself in 701, Carol waits in the attendant queue.
		{name: "slots", setup: func(t *testing.T) {
			dial(t, "Alice", "700", "parked")
			dial(t, "Carol", "0", "queued")
		}, args: []string{"slots"},
			outRE: []string{`(?m)^SLOT\s+LOT\s+STATE\s+CALLER\s+PARKED\s+RECALL\s+PARKER\s+BLF$`,
				`(?m)^701\s+main\s+parked\s+{aliceParty}\s+\d+s\s+\d+s$`, `(?m)^702\s+main\s+free$`, `(?m)^720\s+main\s+free$`}},
		{name: "slots --lot --state --json", args: []string{"slots", "--lot", "main", "--state", "parked", "--json"}, json: func(t *testing.T, out []byte) {
			var v struct{ Slots []verbSlot }
			decode(t, out, &v)
			if len(v.Slots) != 1 || v.Slots[0].Slot != "701" || v.Slots[0].State != "parked" || v.Slots[0].Call == nil ||
				v.Slots[0].Call.ID != vars["alice"] || v.Slots[0].Call.Caller.Name != "Alice" || v.Slots[0].Call.Caller.URI != callers["Alice"].URI() {
				t.Errorf("parked slots: %s", out)
			}
		}},
		{name: "slots --state free --json", args: []string{"--json", "slots", "--state", "free"}, json: func(t *testing.T, out []byte) {
			var v struct{ Slots []verbSlot }
			decode(t, out, &v)
			if len(v.Slots) != 19 || v.Slots[0].Slot != "702" {
				t.Errorf("free slots: %d, first %+v", len(v.Slots), v.Slots)
			}
			for _, s := range v.Slots {
				if s.State != "free" || s.Call != nil {
					t.Errorf("--state free listed %+v", s)
				}
			}
		}},
		{name: "calls", args: []string{"calls"},
			outRE: []string{`(?m)^ID\s+STATE\s+LOT\s+SLOT\s+CALLER\s+WAITING\s+RECALL\s+DETAIL$`,
				`(?m)^{alice}\s+parked\s+main\s+701\s+{aliceParty}\s+\d+s\s+\d+s$`,
				`(?m)^{carol}\s+queued\s+main\s+{carolParty}\s+\d+s\s+position 1$`}},
		{name: "calls --state queued", args: []string{"calls", "--state", "queued"},
			outRE: []string{`(?m)^{carol}\s+queued\s+main\s+{carolParty}\s+\d+s\s+position 1$`}, notOut: []string{"Alice"}},
		{name: "calls --state queued --json", args: []string{"calls", "--state", "queued", "--json"}, json: func(t *testing.T, out []byte) {
			var v struct{ Calls []verbCall }
			decode(t, out, &v)
			if len(v.Calls) != 1 || v.Calls[0].ID != vars["carol"] || v.Calls[0].State != "queued" || v.Calls[0].Position != 1 ||
				v.Calls[0].Lot != "main" || v.Calls[0].Slot != "" || v.Calls[0].Caller.Name != "Carol" {
				t.Errorf("queued calls: %s", out)
			}
		}},

		// park
		{name: "park unknown call", args: []string{"park", "c999"}, code: 1, errOut: []string{`no call "c999"`}},
		{name: "park CALL SLOT --recall-after", args: []string{"park", "{carol}", "705", "--recall-after", "5m"},
			outRE: []string{`^parked {carol} \({carolParty}\) in 705, recall in (4m5\ds|5m00s)\n$`},
			after: func(t *testing.T) {
				slotIs(t, "705", "parked", "Carol")
				k := callIs(t, "Carol", "parked")
				if k.RecallAt == nil || time.Until(*k.RecallAt) < 4*time.Minute || time.Until(*k.RecallAt) > 5*time.Minute {
					t.Errorf("Carol's recall_at is %v, want about 5m from now", k.RecallAt)
				}
				d.waitCalls(t, "an empty queue", func(m map[string]verbCall) bool {
					for _, k := range m {
						if k.State == "queued" {
							return false
						}
					}
					return true
				})
			}},
		{name: "park CALL --json", setup: func(t *testing.T) { dial(t, "Dave", "0", "queued") },
			args: []string{"--json", "park", "{dave}"}, json: func(t *testing.T, out []byte) {
				var k verbCall
				decode(t, out, &k)
				if k.ID != vars["dave"] || k.State != "parked" || k.Slot != "702" || k.Lot != "main" || k.RecallAt == nil {
					t.Errorf("park --json: %s", out)
				}
			}, after: func(t *testing.T) { slotIs(t, "702", "parked", "Dave") }},

		// move
		{name: "move", args: []string{"move", "701", "710"},
			out: []string{"moved {alice} ({aliceParty}) from 701 to 710\n"},
			after: func(t *testing.T) {
				slotIs(t, "701", "free", "")
				slotIs(t, "710", "parked", "Alice")
			}},
		{name: "move --json", args: []string{"move", "710", "711", "--json"}, json: func(t *testing.T, out []byte) {
			var s verbSlot
			decode(t, out, &s)
			if s.Slot != "711" || s.State != "parked" || s.Call == nil || s.Call.ID != vars["alice"] || s.Call.Slot != "711" {
				t.Errorf("move --json: %s", out)
			}
		}, after: func(t *testing.T) {
			slotIs(t, "710", "free", "")
			slotIs(t, "711", "parked", "Alice")
		}},
		{name: "move to an occupied slot", args: []string{"move", "711", "705"}, code: 1, errOut: []string{"slot 705 is occupied"},
			after: func(t *testing.T) {
				slotIs(t, "711", "parked", "Alice")
				slotIs(t, "705", "parked", "Carol")
			}},

		// retrieve
		{name: "retrieve an empty slot", args: []string{"retrieve", "701"}, code: 1, errOut: []string{"slot 701 holds no call"}},
		{name: "retrieve --to", args: []string{"retrieve", "711", "--to", "{reception}"},
			out: []string{"711: retrieving {alice} ({aliceParty}), ringing {reception}\n"},
			after: func(t *testing.T) {
				ring(t, reception, "Park711: Alice", 0)
				slotIs(t, "711", "free", "")
				if k := callIs(t, "Alice", "bridged"); k.Peer == "" {
					t.Errorf("Alice is bridged to nobody: %+v", k)
				}
			}},
		{name: "retrieve --json, the operator busy", args: []string{"--json", "retrieve", "705"}, json: func(t *testing.T, out []byte) {
			var s verbSlot
			decode(t, out, &s)
			if s.Slot != "705" || s.State != "retrieving" || s.Call == nil || s.Call.ID != vars["carol"] || s.Call.RingingTo != bob.URI() {
				t.Errorf("retrieve --json: %s", out)
			}
		}, after: func(t *testing.T) {
			ring(t, bob, "Park705: Carol", 486)
			slotIs(t, "705", "parked", "Carol")
			if k := callIs(t, "Carol", "parked"); k.RingingTo != "" {
				t.Errorf("Carol still ringing %s", k.RingingTo)
			}
		}},

		// transfer
		{name: "transfer to the operator", setup: func(t *testing.T) { dial(t, "Erin", "0", "queued") },
			args: []string{"transfer", "{erin}"},
			out:  []string{"{erin} ({erinParty}): ringing {bob}\n"},
			after: func(t *testing.T) {
				ring(t, bob, "Erin", 0)
				if k := callIs(t, "Erin", "bridged"); k.Peer == "" {
					t.Errorf("Erin is bridged to nobody: %+v", k)
				}
			}},
		{name: "transfer CALL URI --json", setup: func(t *testing.T) { dial(t, "Frank", "0", "queued") },
			args: []string{"--json", "transfer", "{frank}", "{reception}"}, json: func(t *testing.T, out []byte) {
				var k verbCall
				decode(t, out, &k)
				if k.ID != vars["frank"] || k.RingingTo != reception.URI() || k.State != "ringing" || k.Lot != "main" {
					t.Errorf("transfer --json: %s", out)
				}
			}, after: func(t *testing.T) {
				ring(t, reception, "Frank", 0)
				callIs(t, "Frank", "bridged")
			}},

		// hangup
		{name: "hangup CALL", args: []string{"hangup", "{erin}"}, out: []string{"hung up {erin} ({erinParty})\n"},
			after: func(t *testing.T) {
				hungUp(t, "Erin", calls["Erin"])
				hungUp(t, "Bob, Erin's peer", answered["bob Erin"])
				callGone(t, "Erin")
			}},
		{name: "hangup SLOT --json", args: []string{"hangup", "705", "--json"}, json: func(t *testing.T, out []byte) {
			var k verbCall
			decode(t, out, &k)
			if k.ID != vars["carol"] || k.Slot != "705" || k.Caller.Name != "Carol" {
				t.Errorf("hangup --json: %s", out)
			}
		}, after: func(t *testing.T) {
			hungUp(t, "Carol", calls["Carol"])
			slotIs(t, "705", "free", "")
			callGone(t, "Carol")
		}},
		{name: "hangup an empty slot", args: []string{"hangup", "705"}, code: 1, errOut: []string{"slot 705 holds no call"}},
		{name: "hangup unknown call", args: []string{"hangup", "c999"}, code: 1, errOut: []string{`no call "c999"`}},

		// policy
		{name: "policy get", args: []string{"policy", "get", "slots/702"},
			out:   []string{"scope slots/702\n"},
			outRE: []string{`(?m)^KEY\s+VALUE\s+FROM\s+OVERRIDE$`, `(?m)^recall_after\s+45s\s+defaults\.recall_after$`, `(?m)^max_recalls\s+3\s+defaults\.max_recalls$`}},
		{name: "policy set", args: []string{"policy", "set", "slots/702", "recall_after=2m", "max_recalls=1"},
			outRE: []string{`(?m)^recall_after\s+2m\s+override slot/702\s+2m$`, `(?m)^max_recalls\s+1\s+override slot/702\s+1$`}},
		{name: "policy get --json", args: []string{"--json", "policy", "get", "slots/702"}, json: func(t *testing.T, out []byte) {
			var p verbPolicy
			decode(t, out, &p)
			if p.Scope != "slots/702" || string(p.Effective["recall_after"]) != `"2m"` || string(p.Override["recall_after"]) != `"2m"` ||
				string(p.Effective["max_recalls"]) != "1" || string(p.Override["max_recalls"]) != "1" {
				t.Errorf("policy get --json: %s", out)
			}
			if _, ok := p.Sources["recall_after"]; !ok {
				t.Errorf("policy get --json: no source for recall_after: %s", out)
			}
		}, after: func(t *testing.T) {
			// Only the slot's override changed: its lot is as before.
			var p verbPolicy
			d.verbJSON(t, &p, "policy", "get", "lots/main")
			if string(p.Effective["recall_after"]) != `"45s"` || len(p.Override["recall_after"]) != 0 {
				t.Errorf("lots/main after setting slots/702: %+v", p)
			}
		}},
		{name: "policy set out of range", args: []string{"policy", "set", "slots/702", "recall_after=1s"}, code: 1, errOut: []string{"recall_after: must be between 5s and 1h"}},
		{name: "policy clear KEY", args: []string{"policy", "clear", "slots/702", "max_recalls"},
			outRE: []string{`(?m)^recall_after\s+2m\s+override slot/702\s+2m$`, `(?m)^max_recalls\s+3\s+defaults\.max_recalls$`}},
		{name: "policy clear --json", args: []string{"--json", "policy", "clear", "slots/702"}, json: func(t *testing.T, out []byte) {
			var p verbPolicy
			decode(t, out, &p)
			if string(p.Effective["recall_after"]) != `"45s"` || len(p.Override["recall_after"]) != 0 || len(p.Override["max_recalls"]) != 0 {
				t.Errorf("policy clear --json: %s", out)
			}
		}, after: func(t *testing.T) {
			var p verbPolicy
			d.verbJSON(t, &p, "policy", "get", "slots/702")
			if string(p.Effective["recall_after"]) != `"45s"` || len(p.Override["recall_after"]) != 0 {
				t.Errorf("slots/702 after clear: %+v", p)
			}
		}},

		// history
		{name: "history", args: []string{"history"},
			outRE: []string{`(?m)^TIME\s+LOT\s+SLOT\s+OUTCOME\s+CALLER\s+PARKER\s+PARKED\s+DETAIL$`,
				`(?m)\smain\s+701\s+parked\s+{aliceParty}\s`,
				`(?m)\smain\s+701\s+moved\s+{aliceParty}\s.*to 710$`,
				`(?m)\smain\s+711\s+retrieved\s+{aliceParty}\s.*{reception}$`,
				`(?m)\smain\s+705\s+ring_failed\s+{carolParty}\s`,
				`(?m)\smain\s+705\s+hungup\s+{carolParty}\s.*hung up by the attendant$`}},
		{name: "history --json", args: []string{"history", "--outcome", "retrieved", "--json"}, json: func(t *testing.T, out []byte) {
			var h verbHistory
			decode(t, out, &h)
			if len(h.Entries) != 1 || h.Entries[0].Slot != "711" || h.Entries[0].Outcome != "retrieved" || !strings.HasPrefix(h.Entries[0].Caller, "Alice <") {
				t.Errorf("history --outcome retrieved --json: %s", out)
			}
		}, after: func(t *testing.T) {
			var h verbHistory
			d.verbJSON(t, &h, "history", "--slot", "705")
			var outcomes []string
			for _, e := range h.Entries {
				outcomes = append(outcomes, e.Outcome)
			}
			// The daemon starts a recall round when an API retrieve of a
			// call whose recall is not due fails (pausedLocked marks every
			// retrieved call overdue), which adds "reparked recall_failed"
			// after ring_failed. That is a daemon bug; once it is fixed,
			// this wants exactly "hungup ring_failed parked".
			// A failed retrieve must not start a recall the call was not due for.
			if got := strings.Join(outcomes, " "); got != "hungup ring_failed parked" {
				t.Errorf("history of 705, newest first: %q, want \"hungup ring_failed parked\"", got)
			}
		}},

		// watch, in both forms at once: Gina parks in 701 while they follow.
		{name: "watch", run: func(t *testing.T) {
			js := startVerbWatch(t, d, "--json")
			human := startVerbWatch(t, d)
			// A subscription opened before the park is not visible from
			// outside: change a policy until both print its event.
			for i := 0; ; i++ {
				if code, out, errOut := d.ctl(t, fastExit(), "policy", "set", "slots/720", "ring_parker_for="+strconv.Itoa(31+i)+"s"); code != 0 {
					t.Fatalf("policy set: exit %d\n%s%s", code, out, errOut)
				}
				if js.any(300*time.Millisecond) && human.any(300*time.Millisecond) {
					break
				}
				if i == 15 {
					t.Fatalf("the watchers printed nothing:\n%s\n%s", js.stderr, human.stderr)
				}
			}
			if code, out, errOut := d.ctl(t, fastExit(), "policy", "clear", "slots/720"); code != 0 {
				t.Fatalf("policy clear: exit %d\n%s%s", code, out, errOut)
			}
			dial(t, "Gina", "700", "parked")

			line := js.next(t, func(l string) bool {
				var ev struct{ Kind string }
				return json.Unmarshal([]byte(l), &ev) == nil && ev.Kind == "parked"
			})
			var ev struct {
				Seq  uint64    `json:"seq"`
				Kind string    `json:"kind"`
				Lot  string    `json:"lot"`
				Slot string    `json:"slot"`
				Call *verbCall `json:"call"`
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Seq == 0 || ev.Lot != "main" || ev.Slot != "701" ||
				ev.Call == nil || ev.Call.ID != vars["gina"] || ev.Call.Caller.Name != "Gina" {
				t.Errorf("watch --json: %v %s", err, line)
			}
			want := regexp.MustCompile(`^\d\d:\d\d:\d\d parked 701 ` + regexp.QuoteMeta(vars["ginaParty"]) + `( \(.*\))?$`)
			if line := human.next(t, func(l string) bool { return strings.Contains(l, " parked ") }); !want.MatchString(line) {
				t.Errorf("watch: %q does not match %s", line, want)
			}
			js.interrupt(t)
			human.interrupt(t)
			slotIs(t, "701", "parked", "Gina")
		}},
		{name: "status after", args: []string{"--json", "status"}, json: func(t *testing.T, out []byte) {
			// Alice and Frank bridged to Reception (4 legs), Dave and Gina parked.
			decode(t, out, &st)
			if st.Calls != 6 {
				t.Errorf("status --json counts %d calls, want 6: %s", st.Calls, out)
			}
		}},
	}

	for _, row := range rows {
		ok := t.Run(strings.ReplaceAll(row.name, " ", "_"), func(t *testing.T) {
			if row.setup != nil {
				row.setup(t)
			}
			if row.run != nil {
				row.run(t)
				return
			}
			args := make([]string, len(row.args))
			for i, a := range row.args {
				args[i] = expand(t, a, false)
			}
			code, out, errOut := d.ctl(t, fastExit(), args...)
			if code != row.code {
				t.Fatalf("parkd ctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, row.code, out, errOut)
			}
			if row.code != 0 && (out != "" || !strings.HasPrefix(errOut, "parkd ctl")) {
				t.Errorf("exit %d: want nothing on stdout and parkd ctl's message on stderr\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if row.code == 0 && errOut != "" {
				t.Errorf("exit 0 with stderr:\n%s", errOut)
			}
			for _, s := range row.out {
				if s = expand(t, s, false); !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, re := range row.outRE {
				if re = expand(t, re, true); !regexp.MustCompile(re).MatchString(out) {
					t.Errorf("stdout does not match %s:\n%s", re, out)
				}
			}
			for _, s := range row.notOut {
				if s = expand(t, s, false); strings.Contains(out, s) {
					t.Errorf("stdout has %q:\n%s", s, out)
				}
			}
			for _, s := range row.errOut {
				if s = expand(t, s, false); !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
			if row.json != nil {
				if !json.Valid([]byte(out)) {
					t.Fatalf("--json printed no JSON:\n%s", out)
				}
				row.json(t, []byte(out))
			}
			if row.after != nil {
				row.after(t)
			}
		})
		if !ok {
			// Later rows build on this one's state.
			t.Fatalf("stopping at %q (daemon log:\n%s)", row.name, d.stderr)
		}
	}
	t.Logf("%d rows in %v", len(rows), time.Since(start).Round(time.Millisecond))
}
