package tui

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/parkd/parkd/parkd"
)

// The goldens are the screen as a receptionist sees it, in plain text
// (TestMain sets the ASCII profile), at the smallest supported terminal
// and at a large one. They run the real program under teatest: the feed
// takes its snapshot from the fake daemon, events arrive on its stream,
// keys are typed; the last frame is compared with testdata/TestGolden/…
// (go test ./tui -run TestGolden -update rewrites them).

type goldenCase struct {
	name string
	fake func() *fakeClient
	opts func(*Options)
	// drive runs once the console is live.
	drive func(t *testing.T, tm *teatest.TestModel, sc *screen, f *fakeClient, w int)
	// until is text the final frame shows; the test waits for it.
	until string
}

var goldenCases = []goldenCase{
	{name: "empty", fake: func() *fakeClient { return newFake().withLot("main", 701, 20) }, until: ""},
	{name: "busy", fake: busyWithQueue, until: "Liam Walsh", opts: withDaemonLog,
		drive: func(t *testing.T, tm *teatest.TestModel, sc *screen, f *fakeClient, w int) {
			f.emit(busyEvents()...)
		}},
	{name: "recall_ringing", fake: busyFake, until: "ringing group",
		drive: func(t *testing.T, tm *teatest.TestModel, sc *screen, f *fakeClient, w int) {
			c := call(2, "703", 2*time.Minute, 0)
			c.State, c.Recalling, c.Recalls, c.RecallAt = parkd.CallRecalling, "ring_group", 2, nil
			f.emit(parkd.Event{Seq: 1001, Time: t0.Add(-time.Second), Kind: parkd.EventRecalling, Lot: "main", Slot: "703", Call: c, Detail: "ring_group"})
			move := "down" // the table: 703 is two rows down
			if w >= wideMinW {
				move = "right" // cards: two to the right
			}
			tm.Send(keyMsg(move))
			tm.Send(keyMsg(move))
		}},
	{name: "queue", fake: queueFake, until: "ringing bob",
		drive: func(t *testing.T, tm *teatest.TestModel, sc *screen, f *fakeClient, w int) {
			tm.Send(keyMsg("tab"))
			q := queued(3, 1, 95*time.Second)
			q.State, q.RingingTo = parkd.CallRinging, "sip:bob@pbx.example"
			f.emit(parkd.Event{Seq: 1001, Time: t0.Add(-time.Second), Kind: parkd.EventRinging, Lot: "main", Call: &q, Detail: "sip:bob@pbx.example"})
		}},
	{name: "policy_form", fake: busyFake, until: "must be between 5s and 1h",
		drive: func(t *testing.T, tm *teatest.TestModel, sc *screen, f *fakeClient, w int) {
			tm.Send(keyMsg("e"))
			sc.wait(t, "recall after")
			for _, k := range []string{"3", "s"} {
				tm.Send(keyMsg(k))
			}
		}},
	{name: "help", fake: busyFake, until: "closes this help",
		drive: func(t *testing.T, tm *teatest.TestModel, sc *screen, f *fakeClient, w int) { tm.Send(keyMsg("?")) }},
	{name: "disconnected", fake: busyFake, until: "retrying in 5s",
		drive: func(t *testing.T, tm *teatest.TestModel, sc *screen, f *fakeClient, w int) {
			f.failing("Status", &parkd.Error{Code: parkd.CodeUnavailable, Message: `parkd at http://127.0.0.1:7080 cannot be reached: connection refused`})
			f.hangUpStream()
		}},
}

func TestGolden(t *testing.T) {
	for _, gc := range goldenCases {
		for _, size := range [][2]int{{80, 24}, {160, 48}} {
			t.Run(fmt.Sprintf("%s/%dx%d", gc.name, size[0], size[1]), func(t *testing.T) {
				f := gc.fake()
				opts := Options{Addr: "127.0.0.1:7080 (embedded)", Embedded: true, Now: fixedNow}
				if gc.opts != nil {
					gc.opts(&opts)
				}
				m := newModel(f, opts)
				// Reconnect waits are fixed, so "retrying in 5s" holds still.
				m.feed.minWait, m.feed.maxWait = 5*time.Second, 5*time.Second
				t.Cleanup(m.feed.stop)
				tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(size[0], size[1]))
				sc := watch(tm)
				sc.wait(t, "live")
				sc.mark()
				if gc.drive != nil {
					gc.drive(t, tm, sc, f, size[0])
				}
				if gc.until != "" {
					sc.wait(t, gc.until)
				}
				// Let the detail pane's fetches (debounced) land.
				time.Sleep(2 * detailDebounce)
				tm.Send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
				sc.quiet()
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*model)
				view := final.View()
				checkFrame(t, view, size[0], size[1])
				golden.RequireEqual(t, []byte(view+"\n"))
			})
		}
	}
}

// screen watches what a program draws: wait looks for text in all the
// output since the last mark, so text drawn in the same frame as an
// earlier wait's is still seen.
type screen struct {
	tm   *teatest.TestModel
	buf  []byte
	from int
}

func watch(tm *teatest.TestModel) *screen { return &screen{tm: tm} }

// mark forgets what was drawn so far: later waits look at what follows.
func (s *screen) mark() {
	s.read()
	s.from = len(s.buf)
}

func (s *screen) read() {
	b, _ := io.ReadAll(s.tm.Output())
	s.buf = append(s.buf, b...)
}

func (s *screen) wait(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.read()
		if bytes.Contains(s.buf[s.from:], []byte(text)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the screen never showed %q", text)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// quiet lets the program finish what it is drawing.
func (s *screen) quiet() {
	for range 20 {
		time.Sleep(20 * time.Millisecond)
		n := len(s.buf)
		if s.read(); len(s.buf) == n {
			return
		}
	}
}

// checkFrame: every frame is exactly the terminal's size.
func checkFrame(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("frame has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if got := widthOf(l); got != w {
			t.Errorf("line %d is %d wide, want %d: %q", i, got, w, l)
		}
	}
}

func busyWithQueue() *fakeClient {
	f := busyFake()
	f.enqueue(queued(13, 1, 42*time.Second)).enqueue(queued(14, 2, 31*time.Second))
	f.history["sip-0@pbx"] = parkd.HistoryPage{Entries: []parkd.HistoryEntry{
		{ID: 2, Time: t0.Add(-80 * time.Second), Lot: "main", Slot: "701", CallID: "sip-0@pbx", Outcome: "ring_failed", Detail: "sip:bob@pbx.example: 480 Temporarily Unavailable"},
		{ID: 1, Time: t0.Add(-192 * time.Second), Lot: "main", Slot: "701", CallID: "sip-0@pbx", Outcome: "parked", Detail: ""},
	}}
	return f
}

// busyEvents is a minute of a busy lot, as the event log shows it.
func busyEvents() []parkd.Event {
	seq := uint64(1000)
	ev := func(ago time.Duration, kind parkd.EventKind, slot string, c *parkd.CallView, detail string) parkd.Event {
		seq++
		return parkd.Event{Seq: seq, Time: t0.Add(-ago), Kind: kind, Lot: "main", Slot: slot, Call: c, Detail: detail, Subscribers: 2}
	}
	q := queued(10, 3, 22*time.Second)
	heidi := call(7, "712", 58*time.Second, 32*time.Second)
	carol := call(2, "703", 2*time.Minute, 0)
	carol.State, carol.Recalling, carol.Recalls, carol.RecallAt = parkd.CallRecalling, "parker", 1, nil
	failed := *carol
	failed.State, failed.Recalling = parkd.CallParked, ""
	return []parkd.Event{
		ev(58*time.Second, parkd.EventParked, "712", heidi, ""),
		ev(41*time.Second, parkd.EventSubscribers, "712", heidi, ""),
		ev(30*time.Second, parkd.EventRecallFailed, "703", &failed, "parker sip:bob@pbx.example: 486 Busy Here"),
		ev(29*time.Second, parkd.EventRecalling, "703", carol, "parker"),
		ev(22*time.Second, parkd.EventQueued, "", &q, ""),
		ev(9*time.Second, parkd.EventAbandoned, "704", call(11, "704", 3*time.Minute, 0), "caller hung up"),
		ev(4*time.Second, parkd.EventRetrieved, "711", call(12, "711", 0, 0), "answered by bob"),
	}
}

func queueFake() *fakeClient {
	f := newFake().withLot("main", 701, 20)
	f.park(call(0, "701", 3*time.Minute, 45*time.Second))
	f.park(call(1, "702", 47*time.Second, 13*time.Second))
	for i, w := range []time.Duration{95, 61, 40, 12, 3} {
		f.enqueue(queued(3+i, i+1, w*time.Second))
	}
	return f
}

// withDaemonLog gives the console an embedded daemon's log lines.
func withDaemonLog(o *Options) {
	ch := make(chan string, 16)
	for _, l := range []string{
		`time=2025-03-14T09:40:32.118Z level=INFO msg="call parked" slot=712 caller="Heidi Klum <sip:1008@pbx.example>" parker=sip:bob@pbx.example`,
		`time=2025-03-14T09:41:00.502Z level=WARN msg="recall step unanswered" slot=703 step=parker status=486`,
		`{"time":"2025-03-14T09:41:08.020Z","level":"INFO","msg":"call queued for the attendant","caller":"Ivan Petrov <sip:1011@pbx.example>","position":3}`,
		`time=2025-03-14T09:41:26.774Z level=INFO msg="call retrieved and bridged" slot=711 retriever=sip:bob@pbx.example`,
	} {
		ch <- l
	}
	o.Logs = ch
}
