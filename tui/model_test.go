package tui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/parkd/parkd/parkd"
)

// Keys in, calls to the daemon and the status line out.
func TestKeysCallTheDaemon(t *testing.T) {
	refused := &parkd.Error{Code: parkd.CodeSlotEmpty, Message: "slot 701 holds no call"}
	cases := []struct {
		name    string
		fake    func() *fakeClient
		setup   func(f *fakeClient, m *model)
		keys    []tea.Msg
		want    []string // recorded actions
		status  string   // in the status line
		noError bool
	}{
		{name: "enter on a parked slot retrieves it to my phone", fake: busyFake,
			keys: keys("enter"), want: []string{"Retrieve 701 to="}, status: "✓ ringing bob to retrieve Alice Smith from 701"},
		{name: "enter on a free slot asks nothing", fake: busyFake,
			keys: keys("down", "down", "down", "enter"), status: "704 is free"},
		{name: "enter on a queued call connects it to my phone", fake: queueFake,
			keys: keys("tab", "enter"), want: []string{"Transfer q3 to="}, status: "✓ ringing bob for Dave Miller"},
		{name: "p parks the selected queued call in a typed slot", fake: queueFake,
			keys: append(keys("tab", "p"), append(typed("705"), keyMsg("enter"))...), want: []string{"Park q3 slot=705 lot= parker=sip:bob@pbx.example"}, status: "✓ parked Dave Miller in 705"},
		{name: "p with nothing typed parks in the lot's next free slot", fake: queueFake,
			keys: keys("tab", "down", "p", "enter"), want: []string{"Park q4 slot= lot=main parker=sip:bob@pbx.example"}},
		{name: "p offers the free slot selected", fake: queueFake,
			keys: keys("down", "down", "p", "enter"), want: []string{"Park q3 slot=703 lot= parker=sip:bob@pbx.example"}},
		{name: "p refuses an occupied slot before asking the daemon", fake: queueFake,
			keys: append(keys("tab", "p"), append(typed("701"), keyMsg("enter"))...), status: "✗ 701 is occupied by Alice Smith"},
		{name: "p with nobody queued says so", fake: busyFake,
			keys: keys("p"), status: "nobody is waiting"},
		{name: "r retrieves to an extension on the operator's host", fake: busyFake,
			keys: append(keys("r"), append(typed("1002"), keyMsg("enter"))...), want: []string{"Retrieve 701 to=sip:1002@pbx.example"}},
		{name: "r retrieves to a typed URI", fake: busyFake,
			keys: append(keys("r"), append(typed("sip:desk@10.0.0.9:5062"), keyMsg("enter"))...), want: []string{"Retrieve 701 to=sip:desk@10.0.0.9:5062"}},
		{name: "r needs a target", fake: busyFake,
			keys: keys("r", "enter"), status: "type a value"},
		{name: "m moves the call to a free slot", fake: busyFake,
			keys: append(keys("m"), append(typed("704"), keyMsg("enter"))...), want: []string{"Move 701 to=704"}, status: "✓ moved Alice Smith from 701 to 704"},
		{name: "m refuses the slot the call is in", fake: busyFake,
			keys: append(keys("m"), append(typed("701"), keyMsg("enter"))...), status: "already"},
		{name: "m on a free slot says why not", fake: busyFake,
			keys: keys("down", "down", "down", "m"), status: "this slot is free"},
		{name: "x then y hangs up", fake: busyFake,
			keys: keys("x", "y"), want: []string{"Hangup c0"}, status: "✓ hung up Alice Smith"},
		{name: "x then any other key keeps the call", fake: busyFake,
			keys: keys("x", "n"), status: "cancelled"},
		{name: "x hangs up a queued call", fake: queueFake,
			keys: keys("tab", "x", "y"), want: []string{"Hangup q3"}},
		{name: "esc cancels a prompt", fake: busyFake,
			keys: append(keys("r"), append(typed("10"), keyMsg("esc"))...)},
		{name: "a refusal shows the daemon's message", fake: busyFake,
			setup: func(f *fakeClient, m *model) { f.failing("Retrieve", refused) },
			keys:  keys("enter"), want: []string{"Retrieve 701 to="}, status: "✗ retrieve 701: slot 701 holds no call"},
		{name: "a field refusal names the field", fake: busyFake,
			setup: func(f *fakeClient, m *model) {
				f.failing("Retrieve", &parkd.Error{Code: parkd.CodeInvalidField, Field: "to", Message: "no target given and the lot has no operator"})
			},
			keys: keys("enter"), want: []string{"Retrieve 701 to="}, status: "✗ retrieve 701: to: no target given and the lot has no operator"},
		{name: "disconnected: actions are refused at once", fake: busyFake,
			setup: func(f *fakeClient, m *model) {
				send(m, downMsg{err: fmt.Errorf("connection refused"), wait: time.Second})
			},
			keys: keys("enter"), status: "retrieve 701: refused, parkd is not connected"},
		{name: "disconnected: the policy form is refused too", fake: busyFake,
			setup: func(f *fakeClient, m *model) {
				send(m, downMsg{err: fmt.Errorf("connection refused"), wait: time.Second})
			},
			keys: keys("e"), status: "refused, parkd is not connected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.fake()
			m := newTestModel(t, f, 80, 24)
			if tc.setup != nil {
				tc.setup(f, m)
			}
			send(m, tc.keys...)
			if got := f.actions(); !slices.Equal(got, tc.want) {
				t.Errorf("daemon calls %q, want %q", got, tc.want)
			}
			status := m.viewStatus(200, t0)
			if tc.status != "" && !strings.Contains(status, tc.status) {
				t.Errorf("status line %q, want %q in it", strings.TrimSpace(status), tc.status)
			}
			checkFrame(t, m.View(), 80, 24)
		})
	}
}

// Events in, the board and the screen out, with no request per event.
func TestEventsUpdateTheBoard(t *testing.T) {
	ev := func(kind parkd.EventKind, slot string, c *parkd.CallView, detail string) parkd.Event {
		return parkd.Event{Seq: 2000, Time: t0, Kind: kind, Lot: "main", Slot: slot, Call: c, Detail: detail, Subscribers: 1}
	}
	recalling := call(0, "701", 3*time.Minute, 0)
	recalling.State, recalling.Recalling, recalling.RecallAt = parkd.CallRecalling, "ring_group", nil
	ringing := call(0, "701", 3*time.Minute, 45*time.Second)
	ringing.State, ringing.RingingTo = parkd.CallRinging, "sip:bob@pbx.example"
	q := func(i, pos int) *parkd.CallView { c := queued(i, pos, time.Second); return &c }

	cases := []struct {
		name   string
		events []parkd.Event
		check  func(t *testing.T, m *model)
		view   []string // text the screen shows
	}{
		{name: "parked fills the slot",
			events: []parkd.Event{ev(parkd.EventParked, "704", call(11, "704", 0, 45*time.Second), "")},
			check:  slotIs("704", parkd.SlotParked, "Kim Lee"), view: []string{"704  ● parked     Kim Lee 1012"}},
		{name: "retrieved frees it",
			events: []parkd.Event{ev(parkd.EventRetrieved, "701", call(0, "701", 0, 0), "answered by bob")},
			check:  slotIs("701", parkd.SlotFree, ""), view: []string{"701  · free", "retrieved     701   Alice Smith  answered by bob"}},
		{name: "moved frees the source, parked fills the destination",
			events: []parkd.Event{ev(parkd.EventMoved, "701", call(0, "701", 0, 0), "to 704"), ev(parkd.EventParked, "704", call(0, "704", 3*time.Minute, 45*time.Second), "moved from 701")},
			check: func(t *testing.T, m *model) {
				slotIs("701", parkd.SlotFree, "")(t, m)
				slotIs("704", parkd.SlotParked, "Alice Smith")(t, m)
			}},
		{name: "recalling shows the step",
			events: []parkd.Event{ev(parkd.EventRecalling, "701", recalling, "ring_group")},
			check:  slotIs("701", parkd.SlotRecalling, "Alice Smith"), view: []string{"701  ↻ RECALL", "↻ ringing group"}},
		{name: "a retrieve ringing shows retrieving, its failure parked again",
			events: []parkd.Event{ev(parkd.EventRinging, "701", ringing, "sip:bob@pbx.example")},
			check:  slotIs("701", parkd.SlotRetrieving, "Alice Smith"), view: []string{"→ retrieving", "→ ringing bob"}},
		{name: "ring_failed puts it back",
			events: []parkd.Event{ev(parkd.EventRinging, "701", ringing, ""), ev(parkd.EventRingFailed, "701", call(0, "701", 3*time.Minute, 45*time.Second), "480")},
			check:  slotIs("701", parkd.SlotParked, "Alice Smith")},
		{name: "subscribers is the BLF count and keeps the call",
			events: []parkd.Event{{Seq: 2000, Time: t0, Kind: parkd.EventSubscribers, Lot: "main", Slot: "701", Call: call(0, "701", 0, 0), Subscribers: 3}},
			check: func(t *testing.T, m *model) {
				slotIs("701", parkd.SlotParked, "Alice Smith")(t, m)
				if n := m.board.slots["701"].Subscribers; n != 3 {
					t.Errorf("subscribers %d, want 3", n)
				}
			}},
		{name: "queued joins in position order; dequeued moves the rest up",
			events: []parkd.Event{
				{Kind: parkd.EventQueued, Lot: "main", Call: q(11, 1)},
				{Kind: parkd.EventQueued, Lot: "main", Call: q(12, 2)},
				{Kind: parkd.EventQueued, Lot: "main", Call: q(13, 3)},
				{Kind: parkd.EventDequeued, Lot: "main", Call: q(11, 1), Detail: "parked in 704"},
			},
			check: queueIs("Liam Walsh 1", "Mia Wong 2")},
		{name: "a replayed queued event does not duplicate the call",
			events: []parkd.Event{{Kind: parkd.EventQueued, Lot: "main", Call: q(11, 1)}, {Kind: parkd.EventQueued, Lot: "main", Call: q(11, 1)}},
			check:  queueIs("Kim Lee 1")},
		{name: "ended and bridged leave the queue",
			events: []parkd.Event{
				{Kind: parkd.EventQueued, Lot: "main", Call: q(11, 1)},
				{Kind: parkd.EventQueued, Lot: "main", Call: q(12, 2)},
				{Kind: parkd.EventEnded, Lot: "main", Call: q(11, 1), Detail: "caller hung up"},
				{Kind: parkd.EventBridged, Lot: "main", Call: q(12, 1)},
			},
			check: queueIs()},
		{name: "a queued call that rings keeps its place",
			events: []parkd.Event{
				{Kind: parkd.EventQueued, Lot: "main", Call: q(11, 1)},
				{Kind: parkd.EventQueued, Lot: "main", Call: q(12, 2)},
				{Kind: parkd.EventRinging, Lot: "main", Call: func() *parkd.CallView { c := q(12, 0); c.RingingTo = "sip:bob@pbx.example"; return c }()},
			},
			check: queueIs("Kim Lee 1", "Liam Walsh 2"), view: []string{"→ ringing bob"}},
		{name: "a parked call leaves the queue even without its dequeued",
			events: []parkd.Event{{Kind: parkd.EventQueued, Lot: "main", Call: q(11, 1)}, ev(parkd.EventParked, "704", func() *parkd.CallView { c := q(11, 0); c.Slot = "704"; c.State = parkd.CallParked; return c }(), "")},
			check:  queueIs()},
		{name: "an event for a slot nobody knows is ignored",
			events: []parkd.Event{ev(parkd.EventParked, "999", call(1, "999", 0, 0), "")},
			check:  slotIs("701", parkd.SlotParked, "Alice Smith")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := busyFake()
			m := newTestModel(t, f, 80, 40)
			before := len(f.recorded())
			send(m, eventsMsg(tc.events))
			tc.check(t, m)
			if n := len(m.events.lines()); n != len(tc.events) {
				t.Errorf("event log has %d lines for %d events", n, len(tc.events))
			}
			view := m.View()
			for _, want := range tc.view {
				if !strings.Contains(view, want) {
					t.Errorf("screen lacks %q:\n%s", want, view)
				}
			}
			for _, c := range f.recorded()[before:] {
				if !strings.HasPrefix(c, "History") && !strings.HasPrefix(c, "Policy") {
					t.Errorf("an event made the console ask the daemon: %s", c)
				}
			}
		})
	}
}

func slotIs(slot, state, caller string) func(*testing.T, *model) {
	return func(t *testing.T, m *model) {
		t.Helper()
		s := m.board.slots[slot]
		if s.State != state {
			t.Errorf("slot %s is %s, want %s", slot, s.State, state)
		}
		got := ""
		if s.Call != nil {
			got = s.Call.Caller.Display
		}
		if got != caller {
			t.Errorf("slot %s holds %q, want %q", slot, got, caller)
		}
	}
}

func queueIs(want ...string) func(*testing.T, *model) {
	return func(t *testing.T, m *model) {
		t.Helper()
		var got []string
		for _, c := range m.board.queue {
			got = append(got, fmt.Sprintf("%s %d", c.Caller.Display, c.Position))
		}
		if !slices.Equal(got, want) {
			t.Errorf("queue %q, want %q", got, want)
		}
	}
}

// q asks first in embedded mode with calls; attached it quits at once.
func TestQuit(t *testing.T) {
	attached := func(o *Options) { o.Embedded, o.Addr = false, "http://parkd.example:7080" }
	cases := []struct {
		name   string
		fake   func() *fakeClient
		opts   func(*Options)
		keys   []string
		quits  bool
		prompt string
	}{
		{name: "embedded with calls: q asks", fake: busyFake, keys: []string{"q"}, prompt: "Quit parkd? 10 parked calls will be hung up"},
		{name: "embedded with calls: y quits", fake: busyFake, keys: []string{"q", "y"}, quits: true},
		{name: "embedded with calls: any other key stays", fake: busyFake, keys: []string{"q", "n"}},
		{name: "embedded with calls: esc stays", fake: busyFake, keys: []string{"q", "esc"}},
		{name: "embedded with queued calls asks too", fake: func() *fakeClient { return newFake().withLot("main", 701, 5).enqueue(queued(1, 1, 0)) }, keys: []string{"q"}, prompt: "1 queued call will be hung up"},
		{name: "embedded, nothing parked: q quits", fake: func() *fakeClient { return newFake().withLot("main", 701, 5) }, keys: []string{"q"}, quits: true},
		{name: "embedded: ctrl+c asks as q does", fake: busyFake, keys: []string{"ctrl+c"}, prompt: "Quit parkd?"},
		{name: "attached: q quits at once", fake: busyFake, opts: attached, keys: []string{"q"}, quits: true},
		{name: "q in a prompt is typed, not quit", fake: busyFake, keys: []string{"/", "q"}},
		{name: "q on the help screen closes it", fake: busyFake, keys: []string{"?", "q"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []func(*Options)
			if tc.opts != nil {
				opts = append(opts, tc.opts)
			}
			m := newTestModel(t, tc.fake(), 80, 24, opts...)
			var last tea.Cmd
			for _, k := range tc.keys {
				_, last = m.Update(keyMsg(k))
			}
			quits := false
			if last != nil {
				_, quits = last().(tea.QuitMsg)
			}
			if quits != tc.quits {
				t.Errorf("quit %v, want %v", quits, tc.quits)
			}
			if quits && m.feed.ctx.Err() == nil {
				t.Error("quitting left the feed running")
			}
			if tc.prompt != "" && !strings.Contains(m.View(), tc.prompt) {
				t.Errorf("screen lacks %q:\n%s", tc.prompt, m.View())
			}
			if !tc.quits && m.full {
				t.Error("help still open")
			}
		})
	}
	t.Run("the context ending quits without asking", func(t *testing.T) {
		m := newTestModel(t, busyFake(), 80, 24)
		_, cmd := m.Update(stopMsg{})
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Error("stop did not quit")
		}
	})
}

// The recall policy form: validation as you type, a patch of what
// changed, the daemon's refusal on its field.
func TestPolicyForm(t *testing.T) {
	withOverride := func(f *fakeClient) {
		v := defaultPolicyView("slots/701")
		v.Override = parkd.Policy{RecallAfter: dur(30 * time.Second), MaxRecalls: num(5)}
		v.Effective.RecallAfter, v.Sources["recall_after"] = dur(30*time.Second), parkd.PolicySource{Layer: parkd.LayerOverride, Key: "override slot/701"}
		f.policies["slots/701"] = v
	}
	cases := []struct {
		name  string
		setup func(f *fakeClient)
		keys  []tea.Msg
		want  []string // recorded PatchPolicy and Policy calls
		view  []string
		open  bool
	}{
		{name: "a duration out of range is refused as typed", keys: typed("3s"),
			want: []string{"Policy slots/701"}, view: []string{"[3s", "✗ must be between 5s and 1h"}, open: true},
		{name: "a wrong field keeps enter from saving", keys: append(typed("3s"), keyMsg("enter")),
			want: []string{"Policy slots/701"}, view: []string{"fix the fields marked ✗ first"}, open: true},
		{name: "not a duration", keys: typed("soon"), view: []string{`✗ "soon" is not a duration`}, open: true},
		{name: "max recalls is 0 to 20", keys: append(keys("down", "down", "down", "down", "down", "down", "down"), typed("21")...),
			view: []string{"✗ must be between 0 and 20"}, open: true},
		{name: "a ring group must be sip: URIs (the daemon's own check)", keys: append(keys("down", "down", "down"), typed("bob")...),
			view: []string{`✗ "bob" is not a sip: or sips: URI`}, open: true},
		{name: "enter saves what changed",
			keys: append(typed("90s"), keys("down", "down", "right", "enter")...),
			want: []string{"Policy slots/701", "PatchPolicy slots/701 set=recall_after=1m30s,recall_to=parker_only clear="}},
		{name: "emptying an override clears it",
			setup: withOverride,
			keys:  keys("backspace", "backspace", "backspace", "enter"),
			want:  []string{"Policy slots/701", "PatchPolicy slots/701 set= clear=recall_after"}, view: nil},
		{name: "the form shows the override and where values come from", setup: withOverride,
			view: []string{"[30s", "30s · override · slot/701", "[5 "}, want: []string{"Policy slots/701"}, open: true},
		{name: "nothing changed: nothing sent", keys: keys("enter"), want: []string{"Policy slots/701"}, view: []string{"nothing changed"}, open: true},
		{name: "the daemon's refusal stays on screen, on its field",
			setup: func(f *fakeClient) {
				f.failing("PatchPolicy", &parkd.Error{Code: parkd.CodeInvalidField, Field: "forward_to", Message: "required when on_failure is forward (a sip: URI)"})
			},
			keys: append(keys("down", "down", "down", "down", "down"), keys("left", "enter")...),
			want: []string{"Policy slots/701", "PatchPolicy slots/701 set=on_failure=forward clear="},
			view: []string{"parkd refused: forward_to: required when on_failure is forward", "✗ required when on_failure"}, open: true},
		{name: "the scope row switches to the lot", keys: keys("up", "right"),
			want: []string{"Policy slots/701", "Policy lots/main"}, view: []string{"[lot main]", "live override of lots/main"}, open: true},
		{name: "and to the defaults", keys: keys("up", "left"),
			want: []string{"Policy slots/701", "Policy defaults"}, view: []string{"[defaults]"}, open: true},
		{name: "esc leaves it unchanged", keys: append(typed("90s"), keyMsg("esc")), want: []string{"Policy slots/701"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := busyFake()
			if tc.setup != nil {
				tc.setup(f)
			}
			m := newTestModel(t, f, 100, 30)
			mark := len(f.recorded())
			send(m, keyMsg("e"))
			send(m, tc.keys...)
			var got []string
			for _, c := range f.recorded()[mark:] {
				if strings.HasPrefix(c, "Policy") || strings.HasPrefix(c, "PatchPolicy") {
					got = append(got, c)
				}
				if strings.HasPrefix(c, "PatchPolicy") {
					break // what the detail pane asks next is its business
				}
			}
			if tc.want != nil && !slices.Equal(got, tc.want) {
				t.Errorf("calls %q, want %q", got, tc.want)
			}
			if open := m.form != nil; open != tc.open {
				t.Errorf("form open %v, want %v", open, tc.open)
			}
			view := m.View()
			for _, w := range tc.view {
				if !strings.Contains(view, w) {
					t.Errorf("form lacks %q:\n%s", w, view)
				}
			}
			checkFrame(t, view, 100, 30)
		})
	}
}

// The filter narrows the slots and the queue by caller or slot number.
func TestFilter(t *testing.T) {
	cases := []struct {
		typed string
		slots []string
		queue int
	}{
		{"alice", []string{"701"}, 0},
		{"ALICE", []string{"701"}, 0},
		{"ali", []string{"701", "702"}, 0}, // Koothrappali too
		{"71", []string{"710", "711", "712", "713", "714", "715", "716", "717", "718", "719"}, 0},
		{"1006", []string{"709"}, 0}, // Frank Castle's number
		{"mia", nil, 1},
		{"zzz", nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.typed, func(t *testing.T) {
			m := newTestModel(t, busyWithQueue(), 80, 24)
			send(m, keyMsg("/"))
			send(m, typed(tc.typed)...)
			var got []string
			for i := range m.nVisible() {
				got = append(got, m.visibleSlot(i).Slot)
			}
			if !slices.Equal(got, tc.slots) {
				t.Errorf("slots %v, want %v", got, tc.slots)
			}
			if n := len(m.visibleQueue()); n != tc.queue {
				t.Errorf("queue shows %d, want %d", n, tc.queue)
			}
			send(m, keyMsg("enter"))
			if !strings.Contains(m.View(), fmt.Sprintf("filter %q", tc.typed)) {
				t.Errorf("the slots title does not show the filter:\n%s", m.View())
			}
			send(m, keyMsg("esc"))
			if m.nVisible() != 20 || m.filter != "" {
				t.Errorf("esc left %d slots, filter %q", m.nVisible(), m.filter)
			}
		})
	}
}

// A click selects the slot or queued call under the mouse.
func TestMouse(t *testing.T) {
	click := func(x, y int) tea.MouseMsg {
		return tea.MouseMsg{X: x, Y: y, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft}
	}
	cases := []struct {
		name   string
		w, h   int
		msg    tea.MouseMsg
		slot   string
		queued string
		focus  pane
	}{
		{name: "a card", w: 160, h: 48, msg: click(30, 7), slot: "706", focus: paneSlots},
		{name: "a card's last line", w: 160, h: 48, msg: click(80, 12), slot: "712", focus: paneSlots},
		{name: "the gap between cards selects nothing", w: 160, h: 48, msg: click(25, 7), slot: "701", focus: paneSlots},
		{name: "a table row", w: 80, h: 24, msg: click(10, 6), slot: "704", focus: paneSlots},
		{name: "a queued call beside the slots", w: 160, h: 48, msg: click(120, 3), slot: "701", queued: "q14", focus: paneQueue},
		{name: "a queued call under the slots", w: 80, h: 24, msg: click(20, 13), slot: "701", queued: "q14", focus: paneQueue},
		{name: "the wheel scrolls; the selection stays on screen", w: 80, h: 24, msg: tea.MouseMsg{X: 10, Y: 6, Action: tea.MouseActionPress, Button: tea.MouseButtonWheelDown}, slot: "702", focus: paneSlots},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestModel(t, busyWithQueue(), tc.w, tc.h)
			send(m, tc.msg)
			if s := m.selectedSlot(); s.Slot != tc.slot {
				t.Errorf("selected %s, want %s", s.Slot, tc.slot)
			}
			if tc.queued != "" && m.queueID != tc.queued {
				t.Errorf("queued %s selected, want %s", m.queueID, tc.queued)
			}
			if m.focus != tc.focus {
				t.Errorf("focus %d, want %d", m.focus, tc.focus)
			}
		})
	}
}

// Every size gets a full frame; resizing reflows at once and keeps the
// selection.
func TestResize(t *testing.T) {
	m := newTestModel(t, busyWithQueue(), 160, 48)
	send(m, keys("right", "right", "down")...) // 707 in a 4-column grid
	if !m.layout().grid.table && m.selectedSlot().Slot != "707" {
		t.Fatalf("selected %s", m.selectedSlot().Slot)
	}
	for _, size := range [][2]int{{80, 24}, {60, 20}, {100, 30}, {120, 40}, {200, 60}, {240, 70}, {30, 8}, {80, 12}, {160, 48}} {
		send(m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		view := m.View()
		checkFrame(t, view, size[0], size[1])
		if m.selectedSlot().Slot != "707" {
			t.Errorf("%dx%d: the selection moved to %s", size[0], size[1], m.selectedSlot().Slot)
		}
		if size[1] >= 12 && !strings.Contains(view, "707") {
			t.Errorf("%dx%d: the selected slot is off screen:\n%s", size[0], size[1], view)
		}
		if table := m.layout().grid.table; table != (size[0] < wideMinW || size[1] < wideMinH) {
			t.Errorf("%dx%d: table %v", size[0], size[1], table)
		}
	}
}

// Timers tick from the clock, with no request to the daemon.
func TestTimersTick(t *testing.T) {
	now := t0
	f := busyWithQueue()
	m := newTestModel(t, f, 80, 24, func(o *Options) { o.Now = func() time.Time { return now } })
	send(m, keyMsg("tab")) // the queue, for its wait time
	send(m, keyMsg("shift+tab"))
	calls := len(f.recorded())
	before := m.View()
	for _, want := range []string{"09:41:30", "3:12 in 0:45", "0:42"} {
		if !strings.Contains(before, want) {
			t.Errorf("before: no %q", want)
		}
	}
	now = now.Add(50 * time.Second)
	m.Update(tickMsg(now))
	after := m.View()
	for _, want := range []string{"09:42:20", "4:02 0:05 late", "! OVERDUE", "1:32"} {
		if !strings.Contains(after, want) {
			t.Errorf("after 50 s: no %q:\n%s", want, after)
		}
	}
	if n := len(f.recorded()); n != calls {
		t.Errorf("ticking asked the daemon: %q", f.recorded()[calls:])
	}
}

// 1,000 slots: only the visible ones are drawn, and the selection scrolls.
func TestThousandSlots(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		m := newTestModel(t, bigFake(1000), size[0], size[1])
		send(m, keyMsg("G"))
		view := m.View()
		if s := m.selectedSlot(); s.Slot != "1999" {
			t.Fatalf("G selected %s", s.Slot)
		}
		if !strings.Contains(view, "1999") || !strings.Contains(view, "of 1000") || m.top == 0 {
			t.Errorf("%dx%d: the end of the lot is not what shows:\n%s", size[0], size[1], view)
		}
		send(m, keyMsg("g"))
		send(m, keyMsg("pgdown"))
		if m.sel == 0 || !strings.Contains(m.View(), m.selectedSlot().Slot) {
			t.Errorf("page down went to %d", m.sel)
		}
	}
}

// bigFake is one lot of n slots, 1000 up, every one occupied.
func bigFake(n int) *fakeClient {
	f := newFake().withLot("big", 1000, n)
	for i := range n {
		c := call(i, fmt.Sprint(1000+i), time.Duration(i%600)*time.Second, time.Duration(i%90-30)*time.Second)
		c.Lot = "big"
		switch i % 7 {
		case 3:
			c.State, c.Recalling, c.RecallAt = parkd.CallRecalling, "parker", nil
		case 5:
			c.State, c.RingingTo = parkd.CallRinging, "sip:bob@pbx.example"
		}
		f.park(c)
	}
	return f
}

// The detail pane asks once per call and slot, and again only when an
// event says something changed.
func TestDetailFetchesAndCaches(t *testing.T) {
	f := busyWithQueue()
	m := newTestModel(t, f, 160, 48)
	count := func(prefix string) int {
		n := 0
		for _, c := range f.recorded() {
			if strings.HasPrefix(c, prefix) {
				n++
			}
		}
		return n
	}
	settle := func() { send(m, detailDueMsg{m.detailKey()}) }
	settle()
	if count("History sip-0@pbx") != 1 || count("Policy slots/701") != 1 {
		t.Fatalf("first selection: %q", f.recorded())
	}
	if !strings.Contains(m.View(), "ring_failed   701") {
		t.Errorf("no history on screen:\n%s", m.View())
	}
	send(m, keyMsg("right"))
	settle()
	send(m, keyMsg("left"))
	settle()
	if count("History sip-0@pbx") != 1 || count("Policy slots/701") != 1 {
		t.Errorf("coming back asked again: %q", f.recorded())
	}
	send(m, eventsMsg{{Seq: 3000, Time: t0, Kind: parkd.EventParker, Lot: "main", Slot: "701", Call: call(0, "701", 0, 0)}})
	settle()
	if count("History sip-0@pbx") != 2 {
		t.Errorf("an event for the call did not refresh its history: %q", f.recorded())
	}
	send(m, eventsMsg{{Seq: 3001, Time: t0, Kind: parkd.EventPolicy, Lot: "main", Slot: "701", Call: call(0, "701", 0, 0)}})
	settle()
	if count("Policy slots/701") != 2 {
		t.Errorf("a policy event did not refresh the policy: %q", f.recorded())
	}
	// A detail that arrives after the selection moved on is kept, not shown.
	send(m, keyMsg("right"))
	if k := m.detailKey(); k.scope != "slots/702" {
		t.Errorf("detail key %+v", k)
	}
}
