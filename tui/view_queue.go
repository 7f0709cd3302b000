package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// viewQueue draws the attendant queue: position, caller, lot (when there
// are several), what is ringing for it, and how long it has waited.
func (m *model) viewQueue(r rect, now time.Time) []string {
	if r.h <= 0 {
		return nil
	}
	q := m.visibleQueue()
	title := "Queue · 0 waiting"
	if n := len(q); n > 0 {
		title = fmt.Sprintf("Queue · %d waiting", n)
		if n > r.h-1 {
			top := m.queueTop(r)
			title += fmt.Sprintf(" · %d–%d shown", top+1, min(top+r.h-1, n))
		}
	}
	lines := []string{m.paneTitle(title, r.w, m.focus == paneQueue)}
	if len(q) == 0 {
		msg := " nobody waiting"
		if ext := m.attendantExtensions(); ext != "" {
			msg += " (callers to " + ext + " queue here)"
		}
		return padLines(append(lines, m.st.dim.Render(msg)), r.w, r.h)
	}
	manyLots := m.board != nil && len(m.board.lots) > 1
	top := m.queueTop(r)
	for i := top; i < len(q) && len(lines) < r.h; i++ {
		c := q[i]
		sel := c.ID == m.queueID
		g := " "
		if sel {
			g = m.st.dim.Render("▌")
			if m.focus == paneQueue {
				g = m.st.selGutter.Render("▌")
			}
		}
		wait := clockDur(now.Sub(c.Since))
		right := m.st.timer.Render(fitRight(wait, 8))
		note := ""
		if c.RingingTo != "" {
			note = m.st.retrieving.Render(" → ringing " + shortURI(c.RingingTo))
		}
		if manyLots {
			note += m.st.dim.Render(" " + c.Lot)
		}
		pos := fmt.Sprintf("%2d ", c.Position)
		callerW := r.w - 1 - len(pos) - 8 - widthOf(note)
		lines = append(lines, g+m.st.dim.Render(pos)+fit(m.st.caller.Render(callerLine(c.Caller)), callerW)+note+right)
	}
	return padLines(lines, r.w, r.h)
}

// queueTop is the first queued call shown, keeping the selection on
// screen in a pane of r.h-1 rows.
func (m *model) queueTop(r rect) int {
	rows := r.h - 1
	i := max(m.queueIndex(), 0)
	return scrollTop(0, i, rows, len(m.visibleQueue()))
}

// queueRowAt is the index of the queued call drawn on screen row y.
func queueRowAt(r rect, y, top int) int {
	if y <= r.y {
		return -1
	}
	return top + y - r.y - 1
}

// attendantExtensions lists the lots' attendant extensions, for the
// empty queue to say how calls get there.
func (m *model) attendantExtensions() string {
	if m.board == nil {
		return ""
	}
	var exts []string
	for _, l := range m.board.lots {
		if e := l.view.AttendantExtension; e != "" && !slices.Contains(exts, e) {
			exts = append(exts, e)
		}
	}
	return strings.Join(exts, ", ")
}
