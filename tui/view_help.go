package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
)

// viewHelpBar is the bottom line: the keys that act on the selection
// first, then the rest, cut to the width by bubbles/help.
func (m *model) viewHelpBar(w int) string {
	if w <= 0 {
		return ""
	}
	h := m.help
	h.Width = w
	return fit(h.View(helpKeys{short: m.shortHelp()}), w)
}

// shortHelp is the help bar's keys for what is selected and open now.
func (m *model) shortHelp() []key.Binding {
	k := m.keys
	with := func(b key.Binding, desc string) key.Binding {
		b.SetHelp(b.Help().Key, desc)
		return b
	}
	switch {
	case m.form != nil:
		return []key.Binding{with(k.Enter, "save"), with(k.NextPane, "next field"), with(k.Left, "choose"), k.Esc}
	case m.prompt != nil && m.prompt.confirm:
		return []key.Binding{key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")), key.NewBinding(key.WithKeys("n"), key.WithHelp("any other key", "no"))}
	case m.prompt != nil:
		return []key.Binding{with(k.Enter, "ok"), k.Esc}
	case m.full:
		return []key.Binding{with(k.Help, "close help"), k.Esc}
	}
	var out []key.Binding
	switch m.focus {
	case paneQueue:
		if m.selectedQueued() != nil {
			out = append(out, with(k.Enter, "connect to my phone"), with(k.Park, "park"), k.Hangup)
		}
	case paneSlots:
		if s := m.selectedSlot(); s != nil && s.Call != nil {
			out = append(out, with(k.Enter, "retrieve to my phone"), k.Retrieve, k.Move, k.Hangup)
		} else if m.selectedQueued() != nil {
			out = append(out, with(k.Park, "park queued call here"))
		}
		out = append(out, k.Policy)
	case paneEvents, paneLogs:
		out = append(out, with(k.Up, "scroll"), k.End)
	}
	out = append(out, k.NextPane)
	if m.board != nil && len(m.board.lots) > 1 {
		out = append(out, with(k.NextLot, "next lot"))
	}
	if m.filter != "" {
		out = append(out, with(k.Esc, "clear filter"))
	}
	return append(out, k.Filter, k.Help, k.Quit)
}

// viewFullHelp is the `?` screen: every key, and what the slot states
// look like.
func (m *model) viewFullHelp() string {
	st := m.st
	w, h := m.width, m.height
	var lines []string
	lines = append(lines, m.viewHeader(m.now(), w))
	lines = append(lines, " "+st.bold.Render("parkd console: keys"))
	lines = append(lines, m.keyColumns(w-2)...)
	lines = append(lines, " "+st.bold.Render("Slots"))
	for _, lk := range st.looks() {
		lines = append(lines, "   "+lk.style.Render(fit(lk.sym+" "+lk.word, 13))+st.dim.Render(lookMeaning[lk.word]))
	}
	lines = append(lines, "", " "+st.bold.Render("My phone")+st.dim.Render(" is the lot's operator: enter rings it, then connects or retrieves."))
	lines = append(lines, " "+st.dim.Render("Mouse: click a slot or a queued call to select it; the wheel scrolls."))
	if m.opts.Embedded {
		lines = append(lines, " "+st.dim.Render("parkd runs in this console: quitting stops it and hangs up its calls (q asks first)."))
	} else {
		lines = append(lines, " "+st.dim.Render("Attached to a daemon: quitting leaves it running."))
	}
	lines = padLines(lines, w, h-1)
	lines = append(lines, fit(st.dim.Render(" ? or esc closes this help"), w))
	return strings.Join(lines, "\n")
}

// keyColumns lays the key groups out in titled columns, as many side by
// side as the width takes (bubbles/help's full view cuts the columns
// that do not fit; here they wrap to the next row instead).
func (m *model) keyColumns(w int) []string {
	st := m.st
	titles := []string{"Move", "Panes and lots", "Calls", "Console"}
	out := []string{""}
	var cols [][]string
	for i, group := range m.keys.fullHelp() {
		kw := 0
		for _, b := range group {
			kw = max(kw, widthOf(b.Help().Key))
		}
		col := []string{st.bold.Render(titles[i])}
		for _, b := range group {
			desc := b.Help().Desc
			if b.Help().Key == "enter" {
				desc = "connect or retrieve to my phone"
			}
			col = append(col, st.help.FullKey.Render(fit(b.Help().Key, kw))+"  "+st.help.FullDesc.Render(desc))
		}
		cols = append(cols, col)
	}
	for len(cols) > 0 {
		n, used := 0, 0
		for n < len(cols) {
			cw := colWidth(cols[n]) + 4
			if n > 0 && used+cw > w {
				break
			}
			used += cw
			n++
		}
		rows := 0
		for _, c := range cols[:n] {
			rows = max(rows, len(c))
		}
		for r := range rows {
			var b strings.Builder
			for _, c := range cols[:n] {
				cell := ""
				if r < len(c) {
					cell = c[r]
				}
				b.WriteString(fit(cell, colWidth(c)+4))
			}
			out = append(out, " "+b.String())
		}
		cols = cols[n:]
		out = append(out, "")
	}
	return out
}

func colWidth(lines []string) int {
	w := 0
	for _, l := range lines {
		w = max(w, widthOf(l))
	}
	return w
}

var lookMeaning = map[string]string{
	"free":       "nobody parked here",
	"parked":     "a caller waits, hearing music; the timer counts to the recall",
	"RECALL":     "the recall rings: the parker, the group, or the forward target",
	"OVERDUE":    "the recall time has passed and nothing rings yet",
	"retrieving": "a phone is being rung to take the call",
}
