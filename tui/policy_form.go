package tui

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/parkd/parkd/parkd"
)

// The recall policy form edits one scope's live override: a slot, its
// lot, or the defaults. Each field holds the override (empty inherits
// from the layers below, shown beside it with their source), is checked
// as it is typed with the daemon's own rules, and on enter only what
// changed is sent as one PatchPolicy. When the daemon refuses, the form
// stays open with its message on the field it names.

type scopeChoice struct{ label, scope string }

type formField struct {
	def    policyField
	input  textinput.Model // text kinds
	choice int             // enums: 0 inherits, i is def.options[i-1]
	orig   string          // the override when loaded; "" not set
	err    string          // what is wrong, as typed (or as the daemon said)
}

type policyForm struct {
	client  parkd.Client
	scopes  []scopeChoice
	scope   int
	focus   int // 0: the scope row; i: fields[i-1]
	fields  []formField
	pv      *parkd.PolicyView
	loadErr error
	loading bool
	saving  bool
	refusal string // the daemon's refusal, with the field it named
	width   int
}

type policyLoadedMsg struct {
	scope string
	view  parkd.PolicyView
	err   error
}

type policySavedMsg struct {
	view parkd.PolicyView
	err  error
}

const formInputW = 22

func newPolicyForm(scopes []scopeChoice, width int) *policyForm {
	f := &policyForm{scopes: scopes, focus: 1, width: width}
	for _, d := range policyFields {
		ff := formField{def: d}
		if d.kind != kindEnum {
			in := textinput.New()
			in.Prompt = ""
			in.Placeholder = "inherit"
			in.CharLimit = 512
			in.Width = formInputW - 3
			in.Cursor.SetMode(cursor.CursorStatic)
			ff.input = in
		}
		f.fields = append(f.fields, ff)
	}
	return f
}

func (f *policyForm) current() string { return f.scopes[f.scope].scope }

// load asks the daemon for the scope's policy; every field is reset to
// the override it holds.
func (f *policyForm) load(c parkd.Client) tea.Cmd {
	f.client, f.loading, f.pv, f.loadErr, f.refusal = c, true, nil, nil, ""
	scope := f.current()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		v, err := c.Policy(ctx, scope)
		return policyLoadedMsg{scope: scope, view: v, err: err}
	}
}

func (f *policyForm) loaded(msg policyLoadedMsg) {
	if msg.scope != f.current() {
		return // the user moved to another scope meanwhile
	}
	f.loading = false
	if msg.err != nil {
		f.loadErr = msg.err
		return
	}
	v := msg.view
	f.pv = &v
	for i := range f.fields {
		ff := &f.fields[i]
		ff.orig, _ = ff.def.get(v.Override)
		ff.err = ""
		if ff.def.kind == kindEnum {
			ff.choice = 0
			for j, o := range ff.def.options {
				if o == ff.orig {
					ff.choice = j + 1
				}
			}
			continue
		}
		ff.input.SetValue(ff.orig)
		ff.input.CursorEnd()
	}
	f.focusField()
}

func (ff *formField) value() string {
	if ff.def.kind == kindEnum {
		if ff.choice == 0 {
			return ""
		}
		return ff.def.options[ff.choice-1]
	}
	return strings.TrimSpace(ff.input.Value())
}

func (f *policyForm) focusField() tea.Cmd {
	var cmd tea.Cmd
	for i := range f.fields {
		if i+1 == f.focus && f.fields[i].def.kind != kindEnum {
			cmd = f.fields[i].input.Focus()
		} else {
			f.fields[i].input.Blur()
		}
	}
	return cmd
}

func (f *policyForm) resize(w int) { f.width = w }

// update passes non-key messages (the cursor) to the focused input.
func (f *policyForm) update(msg tea.Msg) tea.Cmd {
	if f.focus < 1 || f.fields[f.focus-1].def.kind == kindEnum {
		return nil
	}
	var cmd tea.Cmd
	ff := &f.fields[f.focus-1]
	ff.input, cmd = ff.input.Update(msg)
	return cmd
}

// formKey edits the form.
func (m *model) formKey(k tea.KeyMsg) tea.Cmd {
	f := m.form
	keys := m.keys
	switch {
	case key.Matches(k, keys.Esc) || k.String() == "ctrl+c":
		m.form = nil
		m.setStatus(stInfo, "recall policy unchanged")
		return nil
	case f.saving:
		return nil
	case k.Type == tea.KeyEnter:
		return f.save()
	case k.String() == "tab" || k.Type == tea.KeyDown:
		f.focus = (f.focus + 1) % (len(f.fields) + 1)
		return f.focusField()
	case k.String() == "shift+tab" || k.Type == tea.KeyUp:
		f.focus = (f.focus + len(f.fields)) % (len(f.fields) + 1)
		return f.focusField()
	}
	left, right := k.Type == tea.KeyLeft, k.Type == tea.KeyRight
	if f.focus == 0 {
		if left || right {
			d := 1
			if left {
				d = -1
			}
			f.scope = (f.scope + d + len(f.scopes)) % len(f.scopes)
			return f.load(m.client)
		}
		return nil
	}
	ff := &f.fields[f.focus-1]
	if ff.def.kind == kindEnum {
		n := len(ff.def.options) + 1
		switch {
		case left || k.String() == "h":
			ff.choice = (ff.choice + n - 1) % n
		case right || k.String() == "l" || k.String() == " ":
			ff.choice = (ff.choice + 1) % n
		case k.Type == tea.KeyBackspace || k.Type == tea.KeyDelete:
			ff.choice = 0
		}
		ff.err = ff.def.check(ff.value())
		f.refusal = ""
		return nil
	}
	var cmd tea.Cmd
	ff.input, cmd = ff.input.Update(k)
	ff.err = ff.def.check(ff.value())
	f.refusal = ""
	return cmd
}

// patch is what changed: set fields that were typed, clear fields that
// were emptied. ok is false when a field is still wrong.
func (f *policyForm) patch() (p parkd.PolicyPatch, changed, ok bool) {
	ok = true
	for i := range f.fields {
		ff := &f.fields[i]
		v := ff.value()
		if ff.err = ff.def.check(v); ff.err != "" {
			ok = false
			continue
		}
		if v == ff.orig {
			continue
		}
		changed = true
		if v == "" {
			p.Clear = append(p.Clear, ff.def.key)
		} else {
			ff.def.set(&p.Set, v)
		}
	}
	return p, changed, ok
}

func (f *policyForm) save() tea.Cmd {
	if f.pv == nil {
		return nil
	}
	p, changed, ok := f.patch()
	if !ok {
		f.refusal = "fix the fields marked ✗ first"
		return nil
	}
	if !changed {
		f.refusal = "nothing changed (esc closes)"
		return nil
	}
	f.saving, f.refusal = true, ""
	c, scope := f.client, f.current()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		v, err := c.PatchPolicy(ctx, scope, p)
		return policySavedMsg{view: v, err: err}
	}
}

// refused shows the daemon's refusal, on the field it names when it
// names one of ours ("ring_group[1]" is the ring group).
func (f *policyForm) refused(err error) {
	f.saving = false
	f.refusal = "parkd refused: " + errText(err)
	var pe *parkd.Error
	if !errors.As(err, &pe) || pe.Field == "" {
		return
	}
	for i := range f.fields {
		k := f.fields[i].def.key
		if pe.Field == k || strings.HasPrefix(pe.Field, k+"[") || strings.HasPrefix(pe.Field, k+".") {
			f.fields[i].err = pe.Message
			f.focus = i + 1
			f.focusField()
			return
		}
	}
}

// view draws the form in a box in the middle of r.
func (f *policyForm) view(m *model, r rect, _ time.Time) []string {
	st := m.st
	boxW := min(r.w-2, 100)
	inner := boxW - 4 // border and padding
	var lines []string
	title := "Recall policy"
	if f.pv != nil {
		title += " · live override of " + f.current()
	}
	lines = append(lines, st.bold.Render(title))

	var sc []string
	for i, s := range f.scopes {
		if i == f.scope {
			sc = append(sc, st.formFocus.Render("["+s.label+"]"))
		} else {
			sc = append(sc, st.formHint.Render(" "+s.label+" "))
		}
	}
	mark := "  "
	if f.focus == 0 {
		mark = st.formFocus.Render("▶ ")
	}
	lines = append(lines, mark+fit("scope", 16)+strings.Join(sc, " ")+st.formHint.Render("  ←/→"))
	lines = append(lines, "")

	switch {
	case f.loading:
		lines = append(lines, st.formHint.Render("  loading "+f.current()+"…"))
	case f.loadErr != nil:
		lines = append(lines, st.formErr.Render("  ✗ "+errText(f.loadErr)))
	default:
		lines = append(lines, st.formHint.Render("  "+fit("setting", 16)+fit("live override", formInputW+2)+"effective now · from"))
		for i := range f.fields {
			lines = append(lines, f.fieldLine(m, i, inner))
		}
	}
	lines = append(lines, "")
	if f.focus > 0 && f.fields[f.focus-1].def.hint != "" {
		lines = append(lines, st.formHint.Render("  "+f.fields[f.focus-1].def.label+": "+f.fields[f.focus-1].def.hint))
	} else {
		lines = append(lines, "")
	}
	switch {
	case f.saving:
		lines = append(lines, st.formHint.Render("  saving…"))
	case f.refusal != "":
		lines = append(lines, st.formErr.Render("  ✗ "+f.refusal))
	default:
		lines = append(lines, "")
	}
	lines = append(lines, st.formHint.Render("empty inherits · enter saves · tab/↑↓ moves · ←/→ chooses · esc cancels"))
	for i := range lines {
		lines[i] = fit(lines[i], inner)
	}
	box := st.formBox.Width(inner + 2).Render(strings.Join(lines, "\n"))
	out := strings.Split(box, "\n")
	pad := strings.Repeat(" ", max((r.w-lipgloss.Width(out[0]))/2, 0))
	for i := range out {
		out[i] = pad + out[i]
	}
	return padLines(out, r.w, r.h)
}

func (f *policyForm) fieldLine(m *model, i, w int) string {
	st := m.st
	ff := &f.fields[i]
	focused := f.focus == i+1
	mark, label := "  ", st.formLabel.Render(fit(ff.def.label, 16))
	if focused {
		mark, label = st.formFocus.Render("▶ "), st.formFocus.Render(fit(ff.def.label, 16))
	}
	var in string
	if ff.def.kind == kindEnum {
		v := ff.value()
		if v == "" {
			v = "inherit"
		}
		in = "‹ " + v + " ›"
		if focused {
			in = st.formFocus.Render(in)
		}
		in = fit(in, formInputW)
	} else {
		in = "[" + fit(ff.input.View(), formInputW-2) + "]"
	}
	right := ""
	switch {
	case ff.err != "":
		right = st.formErr.Render("✗ " + ff.err)
	case f.pv != nil:
		src := sourceText(f.pv.Sources[ff.def.key], ff.def.key, w >= 90)
		right = st.formHint.Render(effectiveText(ff.def, f.pv.Effective) + " · " + src)
	}
	return mark + label + in + "  " + right
}
