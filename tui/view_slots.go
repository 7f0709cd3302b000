package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/parkd/parkd/parkd"
)

// facts is what one slot shows, worked out once per frame and drawn as a
// card or a table row. Only the visible slots are worked out, so 1,000
// slots cost what a screenful costs.
type facts struct {
	look     look
	caller   string
	parker   string
	parked   string // ticking parked time
	recall   string // time to recall, the recall step, or the retrieve target
	round    string // which recall round rings, when past the first
	recallSt lipgloss.Style
}

func (m *model) slotFacts(s *slotState, now time.Time) facts {
	looks := m.st.looks()
	c := s.Call
	if c == nil {
		return facts{look: looks[lookFree]}
	}
	f := facts{look: looks[lookParked], caller: callerLine(c.Caller), parker: "—", recallSt: m.st.timer}
	if c.Parker != nil {
		f.parker = partyName(*c.Parker)
	}
	if !c.ParkedAt.IsZero() {
		f.parked = clockDur(now.Sub(c.ParkedAt))
	} else if !c.Since.IsZero() {
		f.parked = clockDur(now.Sub(c.Since))
	}
	switch {
	case s.State == parkd.SlotRetrieving:
		f.look = looks[lookRetrieving]
		f.recall, f.recallSt = "→ ringing "+shortURI(c.RingingTo), m.st.retrieving
		if c.RingingTo == "" {
			f.recall = "→ answering"
		}
	case s.State == parkd.SlotRecalling:
		f.look = looks[lookRecall]
		f.recall, f.recallSt = "↻ ringing "+recallStep(c.Recalling), m.st.recall
		if c.Recalls > 1 {
			f.round = fmt.Sprintf(" #%d", c.Recalls)
		}
	case overdue(s, now):
		f.look = looks[lookOverdue]
		f.recall, f.recallSt = clockDur(now.Sub(*c.RecallAt))+" late", m.st.late
	case c.RecallAt != nil:
		f.recall = "in " + clockDur(c.RecallAt.Sub(now))
	default:
		f.recall, f.recallSt = "no recall", m.st.dim
	}
	return f
}

// recallStep names a recall step as a receptionist says it.
func recallStep(s string) string {
	switch s {
	case "ring_group":
		return "group"
	case "":
		return "recall"
	}
	return strings.ReplaceAll(s, "_", " ")
}

// shortURI is a SIP URI's user part, or the URI without its scheme.
func shortURI(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "sips:"), "sip:")
	if user, _, ok := strings.Cut(u, "@"); ok && user != "" {
		return user
	}
	return u
}

// viewSlots draws the selected lot's slots, as cards or as a table.
func (m *model) viewSlots(l layout, now time.Time) []string {
	r, g := l.slots, l.grid
	if r.h <= 0 {
		return nil
	}
	lot := m.currentLot()
	lines := []string{m.paneTitle(m.slotsTitle(lot, g), r.w, m.focus == paneSlots)}
	if lot == nil {
		msg := " waiting for parkd…"
		if m.conn.err != nil {
			msg = " no slots yet: parkd cannot be reached"
		}
		return padLines(append(lines, m.st.dim.Render(msg)), r.w, r.h)
	}
	if m.nVisible() == 0 {
		return padLines(append(lines, m.st.dim.Render(fmt.Sprintf(" no slot matches %q (esc clears the filter)", m.filter))), r.w, r.h)
	}
	top := scrollTop(m.top, m.selRow(g), g.rows, m.totalRows(g))
	slotW := 4
	for _, s := range lot.slots {
		slotW = max(slotW, len(s.Slot))
	}
	if g.table {
		lines = append(lines, m.tableHead(r.w, slotW))
		for row := top; row < top+g.rows && row < m.nVisible(); row++ {
			lines = append(lines, m.tableRow(m.visibleSlot(row), row == m.sel, r.w, slotW, now))
		}
		return padLines(lines, r.w, r.h)
	}
	for row := top; row < top+g.rows; row++ {
		cards := make([][]string, 0, g.cols)
		for col := range g.cols {
			i := row*g.cols + col
			if i >= m.nVisible() {
				break
			}
			cards = append(cards, m.card(m.visibleSlot(i), i == m.sel, g.cellW, slotW, now))
		}
		if len(cards) == 0 {
			break
		}
		for li := range 3 {
			parts := make([]string, len(cards))
			for ci, c := range cards {
				parts[ci] = c[li]
			}
			lines = append(lines, strings.Join(parts, " "))
		}
		if g.cellH == 4 {
			lines = append(lines, "")
		}
	}
	return padLines(lines, r.w, r.h)
}

func (m *model) slotsTitle(lot *lotBoard, g grid) string {
	if lot == nil {
		return "Slots"
	}
	t := fmt.Sprintf("Slots · %s %s · %d/%d used", lot.view.Name, lot.view.Slots, lot.used(), len(lot.slots))
	if lot.view.Operator != "" {
		t += " · my phone " + shortURI(lot.view.Operator)
	}
	if m.filter != "" {
		t += fmt.Sprintf(" · filter %q: %d", m.filter, m.nVisible())
	}
	if !m.conn.up {
		t += " · as last seen"
	}
	if n := m.nVisible(); n > g.visibleSlots() && g.visibleSlots() > 0 {
		top := scrollTop(m.top, m.selRow(g), g.rows, m.totalRows(g))
		first := top*g.cols + 1
		last := min((top+g.rows)*g.cols, n)
		t += fmt.Sprintf(" · %d–%d of %d", first, last, n)
	}
	return t
}

// gutter marks the selected slot with a bar that reads without colour.
func (m *model) gutter(selected bool) string {
	if !selected {
		return " "
	}
	if m.focus == paneSlots {
		return m.st.selGutter.Render("▌")
	}
	return m.st.dim.Render("▌")
}

// card is one slot in the grid: three lines, w wide.
//
//	▌701 ● parked      3:12
//	▌Alice Smith 1001
//	▌by Bob · in 0:45
func (m *model) card(s *slotState, selected bool, w, slotW int, now time.Time) []string {
	f := m.slotFacts(s, now)
	g := m.gutter(selected)
	num := fit(s.Slot, slotW)
	if selected {
		num = m.st.bold.Render(num)
	}
	state := f.look.style.Render(f.look.sym + " " + f.look.word)
	inner := w - 1
	head := num + " " + state
	if f.parked != "" {
		head = fit(head, inner-len(f.parked)-1) + " " + m.st.timer.Render(f.parked)
	}
	if s.Call == nil {
		return []string{g + fit(head, inner), g + fit("", inner), g + fit("", inner)}
	}
	third := f.recallSt.Render(f.recall + f.round)
	if f.look.word == "parked" || f.look.word == "OVERDUE" {
		if s.Call.Parker != nil {
			third = m.st.dim.Render("by "+f.parker+" · ") + third
		} else {
			third = m.st.dim.Render("recall ") + third
		}
	}
	return []string{
		g + fit(head, inner),
		g + fit(m.callerCell(s, f), inner),
		g + fit(third, inner),
	}
}

// callerCell is who waits in the slot, marked when a reload retired it
// (no longer in the config: it goes when this call leaves).
func (m *model) callerCell(s *slotState, f facts) string {
	caller := m.st.caller.Render(f.caller)
	if s.Retired {
		caller = m.st.late.Render("retired") + " " + caller
	}
	return caller
}

// Table column widths; the caller gets what is left.
const (
	colState  = 12
	colParker = 12
	colParked = 7
	colRecall = 16
)

func (m *model) tableHead(w, slotW int) string {
	cols := []string{" " + fit("SLOT", slotW), fit("STATE", colState)}
	callerW, showParker := m.callerWidth(w, slotW)
	cols = append(cols, fit("CALLER", callerW))
	if showParker {
		cols = append(cols, fit("PARKED BY", colParker))
	}
	cols = append(cols, fitRight("PARKED", colParked), fit("RECALL", colRecall))
	return m.st.colHead.Render(fit(strings.Join(cols, " "), w))
}

// callerWidth is what the caller column gets; below 80 columns the
// parker column goes (the detail pane still says who parked).
func (m *model) callerWidth(w, slotW int) (int, bool) {
	fixed := 1 + slotW + 1 + colState + 1 + 1 + colParked + 1 + colRecall
	if w >= 80 {
		return max(w-fixed-colParker-1, 8), true
	}
	return max(w-fixed, 8), false
}

func (m *model) tableRow(s *slotState, selected bool, w, slotW int, now time.Time) string {
	f := m.slotFacts(s, now)
	num := fit(s.Slot, slotW)
	if selected {
		num = m.st.bold.Render(num)
	}
	callerW, showParker := m.callerWidth(w, slotW)
	cols := []string{m.gutter(selected) + num, f.look.style.Render(fit(f.look.sym+" "+f.look.word, colState))}
	if s.Call == nil {
		return fit(strings.Join(cols, " "), w)
	}
	cols = append(cols, fit(m.callerCell(s, f), callerW))
	if showParker {
		cols = append(cols, fit(f.parker, colParker))
	}
	cols = append(cols, m.st.timer.Render(fitRight(f.parked, colParked)), f.recallSt.Render(fit(f.recall, colRecall)))
	return fit(strings.Join(cols, " "), w)
}
