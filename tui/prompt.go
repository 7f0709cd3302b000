package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// A prompt is a question on the status line: a slot or URI to type, or a
// y/n confirmation. It takes every key until it is answered or esc
// cancels it, so a stray key can never act on a call.

type promptKind int

const (
	promptPark promptKind = iota
	promptRetrieve
	promptMove
	promptFilter
	promptHangup
	promptQuit
)

type prompt struct {
	kind    promptKind
	label   string
	confirm bool
	input   textinput.Model
	needed  bool                // an empty answer is not one
	check   func(string) string // what is wrong with the value, as typed
	hint    func(string) string // what the value will do
	live    func(string)        // runs on every change (the filter)
	submit  func(string) tea.Cmd
	err     string
}

func newInput(kind promptKind, label, placeholder string) *prompt {
	in := textinput.New()
	in.Prompt = ""
	in.Placeholder = placeholder
	in.CharLimit = 256
	// A steady cursor: nothing blinks on a screen that is open all day.
	in.Cursor.SetMode(cursor.CursorStatic)
	return &prompt{kind: kind, label: label, input: in}
}

func newConfirm(kind promptKind, label string, submit func(string) tea.Cmd) *prompt {
	return &prompt{kind: kind, label: label, confirm: true, submit: submit}
}

func (p *prompt) focus() tea.Cmd { return p.input.Focus() }

func (p *prompt) update(msg tea.Msg) tea.Cmd {
	if p.confirm {
		return nil
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	return cmd
}

func (p *prompt) value() string { return strings.TrimSpace(p.input.Value()) }

// promptKey answers or edits the open prompt.
func (m *model) promptKey(k tea.KeyMsg) tea.Cmd {
	p := m.prompt
	if p.confirm {
		m.prompt = nil
		yes := k.String() == "y" || k.String() == "Y"
		switch {
		case p.kind == promptQuit && (yes || k.String() == "ctrl+c"):
			return m.quitNow()
		case p.kind == promptQuit:
			m.setStatus(stInfo, "still running")
		case yes && p.submit != nil:
			return p.submit("y")
		default:
			m.setStatus(stInfo, "cancelled")
		}
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Esc) || k.String() == "ctrl+c":
		m.prompt = nil
		if p.kind == promptFilter {
			m.setFilter("")
		}
		return m.detailCmd()
	case k.Type == tea.KeyEnter:
		v := p.value()
		if p.check != nil {
			p.err = p.check(v)
		}
		if p.err == "" && p.needed && v == "" {
			p.err = "type a value, or esc to cancel"
		}
		if p.err != "" {
			return nil
		}
		m.prompt = nil
		return tea.Batch(p.submit(v), m.detailCmd())
	}
	cmd := p.update(k)
	v := p.value()
	if p.check != nil {
		p.err = p.check(v)
	}
	if p.live != nil {
		p.live(v)
	}
	return tea.Batch(cmd, m.detailCmd())
}

// statusKind colours the status line.
type statusKind int

const (
	stInfo statusKind = iota
	stOK
	stErr
)

type statusLine struct {
	kind statusKind
	text string
	at   time.Time
}

// statusFor is how long a result stays on the status line.
const statusFor = 30 * time.Second

func (m *model) setStatus(k statusKind, text string) {
	m.status = statusLine{kind: k, text: text, at: m.now()}
}

// viewStatus is the line above the help bar: the open prompt, else the
// last result, else what the connection means for the user.
func (m *model) viewStatus(w int, now time.Time) string {
	st := m.st
	if p := m.prompt; p != nil {
		if p.confirm {
			return fit(st.prompt.Render(p.label), w)
		}
		line := st.prompt.Render(p.label+": ") + p.input.View()
		switch {
		case p.err != "":
			line += "  " + st.statusErr.Render("✗ "+p.err)
		case p.hint != nil && p.hint(p.value()) != "":
			line += "  " + st.dim.Render(p.hint(p.value()))
		default:
			line += "  " + st.dim.Render("enter ok · esc cancels")
		}
		return fit(line, w)
	}
	if m.status.text != "" && now.Sub(m.status.at) < statusFor {
		switch m.status.kind {
		case stOK:
			return fit(st.statusOK.Render("✓ "+m.status.text), w)
		case stErr:
			return fit(st.statusErr.Render("✗ "+m.status.text), w)
		}
		return fit(st.statusInfo.Render(m.status.text), w)
	}
	if !m.conn.up && m.conn.err != nil {
		return fit(st.statusErr.Render("parkd cannot be reached ("+errText(m.conn.err)+"): actions are refused until it is back"), w)
	}
	return fit("", w)
}
