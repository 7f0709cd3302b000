package tui

import (
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/parkd/parkd/parkd"
)

func TestMain(m *testing.M) {
	// Goldens and view assertions see plain text: no colour, no styles.
	lipgloss.SetColorProfile(termenv.Ascii)
	m.Run()
}

// newTestModel is a model on f, sized, with the snapshot taken, driven
// directly through Update (no program, no feed goroutine).
func newTestModel(t testing.TB, f *fakeClient, w, h int, opts ...func(*Options)) *model {
	t.Helper()
	o := Options{Addr: "127.0.0.1:7080 (embedded)", Embedded: true, Now: fixedNow}
	for _, fn := range opts {
		fn(&o)
	}
	m := newModel(f, o)
	t.Cleanup(m.feed.stop)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	snap, _, err := m.feed.connect()
	if err != nil {
		t.Fatal(err)
	}
	m.Update(snap)
	return m
}

// send runs msgs through Update and runs the commands they return that
// finish at once (action results, fetches), like a program would; ticks
// and debounces are resolved immediately.
func send(m *model, msgs ...tea.Msg) {
	for _, msg := range msgs {
		_, cmd := m.Update(msg)
		run(m, cmd, 0)
	}
}

func run(m *model, cmd tea.Cmd, depth int) {
	if cmd == nil || depth > 4 {
		return
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(300 * time.Millisecond):
		return // a listener or a tick: not for a direct test
	}
	switch msg := msg.(type) {
	case nil, tickMsg:
	case tea.BatchMsg:
		for _, c := range msg {
			run(m, c, depth+1)
		}
	case tea.QuitMsg:
	default:
		_, next := m.Update(msg)
		run(m, next, depth+1)
	}
}

func keyMsg(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// keys turns "p 7 0 5 enter" into key messages.
func keys(seq ...string) []tea.Msg {
	var out []tea.Msg
	for _, s := range seq {
		out = append(out, keyMsg(s))
	}
	return out
}

func typed(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return out
}

// busyFake is a lot of 20 with most slots in use, in every state.
func busyFake() *fakeClient {
	f := newFake().withLot("main", 701, 20).withLot("sales", 801, 10)
	f.park(call(0, "701", 3*time.Minute+12*time.Second, 45*time.Second))
	f.park(call(1, "702", 47*time.Second, 13*time.Second))
	c := call(2, "703", 2*time.Minute, -20*time.Second) // recall ringing
	c.State, c.Recalling, c.Recalls, c.RecallAt = parkd.CallRecalling, "parker", 1, nil
	f.park(c)
	f.park(call(3, "705", 5*time.Minute+3*time.Second, -72*time.Second)) // overdue
	c = call(4, "706", 61*time.Second, 29*time.Second)
	c.State, c.RingingTo = parkd.CallRinging, "sip:bob@pbx.example"
	f.park(c)
	c = call(8, "708", 12*time.Second, 33*time.Second)
	c.Parker = nil
	f.park(c)
	for i, s := range []string{"709", "710", "712", "715"} {
		f.park(call(5+i, s, time.Duration(20+i*37)*time.Second, time.Duration(30-i*5)*time.Second))
	}
	return f
}
