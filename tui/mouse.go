package tui

import tea "github.com/charmbracelet/bubbletea"

// onMouse selects what a click hits (a slot, a queued call, a pane) and
// scrolls what the wheel is over. The layout that draws the screen is
// the one that finds what was hit.
func (m *model) onMouse(ev tea.MouseMsg) tea.Cmd {
	if m.prompt != nil || m.form != nil || m.full {
		return nil
	}
	l := m.layout()
	switch {
	case ev.Button == tea.MouseButtonWheelUp || ev.Button == tea.MouseButtonWheelDown:
		return m.wheel(l, ev)
	case ev.Action != tea.MouseActionPress || ev.Button != tea.MouseButtonLeft:
		return nil
	case l.slots.contains(ev.X, ev.Y):
		m.focus = paneSlots
		if i := l.grid.slotAt(ev.X, ev.Y, m.top); i >= 0 && i < m.nVisible() {
			m.sel = i
		}
	case l.queue.contains(ev.X, ev.Y):
		m.focus = paneQueue
		q := m.visibleQueue()
		if i := queueRowAt(l.queue, ev.Y, m.queueTop(l.queue)); i >= 0 && i < len(q) {
			m.queueID = q[i].ID
		}
	case l.events.contains(ev.X, ev.Y):
		m.focus = paneEvents
	case l.logs.contains(ev.X, ev.Y):
		m.focus = paneLogs
	default:
		return nil
	}
	return m.detailCmd()
}

func (m *model) wheel(l layout, ev tea.MouseMsg) tea.Cmd {
	up := ev.Button == tea.MouseButtonWheelUp
	step := 1
	if up {
		step = -1
	}
	switch {
	case l.events.contains(ev.X, ev.Y):
		if up {
			m.evView.ScrollUp(3)
		} else {
			m.evView.ScrollDown(3)
		}
	case l.logs.contains(ev.X, ev.Y):
		if up {
			m.lgView.ScrollUp(3)
		} else {
			m.lgView.ScrollDown(3)
		}
	case l.slots.contains(ev.X, ev.Y):
		// The wheel scrolls the view; the selection follows only when it
		// would leave the screen.
		g := l.grid
		m.top = clamp(m.top+step, 0, max(m.totalRows(g)-g.rows, 0))
		row := m.selRow(g)
		if row < m.top {
			m.sel = clamp(m.top*g.cols+m.sel%g.cols, 0, max(m.nVisible()-1, 0))
		} else if row >= m.top+g.rows {
			m.sel = clamp((m.top+g.rows-1)*g.cols+m.sel%g.cols, 0, max(m.nVisible()-1, 0))
		}
		return m.detailCmd()
	}
	return nil
}
