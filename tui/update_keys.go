package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// onKey routes a key: an open prompt, form or help screen takes every
// key, so a stray key never acts on a call behind it.
func (m *model) onKey(k tea.KeyMsg) tea.Cmd {
	switch {
	case m.prompt != nil:
		return m.promptKey(k)
	case m.form != nil:
		return m.formKey(k)
	case m.full:
		if key.Matches(k, m.keys.Help, m.keys.Esc) || k.String() == "q" {
			m.full = false
		}
		return nil
	}
	keys := m.keys
	switch {
	case key.Matches(k, keys.Quit):
		return m.askQuit()
	case key.Matches(k, keys.Help):
		m.full = true
	case key.Matches(k, keys.Esc):
		if m.filter != "" {
			m.setFilter("")
		}
		m.status = statusLine{}
	case key.Matches(k, keys.NextPane):
		m.cyclePane(1)
	case key.Matches(k, keys.PrevPane):
		m.cyclePane(-1)
	case key.Matches(k, keys.PrevLot):
		m.switchLot(-1)
	case key.Matches(k, keys.NextLot):
		m.switchLot(1)
	case key.Matches(k, keys.Filter):
		return m.openFilter()
	case key.Matches(k, keys.Enter):
		return m.enter()
	case key.Matches(k, keys.Park):
		return m.openPark()
	case key.Matches(k, keys.Retrieve):
		return m.openRetrieve()
	case key.Matches(k, keys.Move):
		return m.openMove()
	case key.Matches(k, keys.Hangup):
		return m.openHangup()
	case key.Matches(k, keys.Policy):
		return m.openPolicy()
	default:
		return m.moveKey(k)
	}
	return m.detailCmd()
}

// moveKey handles the arrows and paging in the focused pane.
func (m *model) moveKey(k tea.KeyMsg) tea.Cmd {
	keys := m.keys
	switch m.focus {
	case paneEvents, paneLogs:
		vp := &m.evView
		if m.focus == paneLogs {
			vp = &m.lgView
		}
		switch {
		case key.Matches(k, keys.Up):
			vp.ScrollUp(1)
		case key.Matches(k, keys.Down):
			vp.ScrollDown(1)
		case key.Matches(k, keys.PageUp):
			vp.PageUp()
		case key.Matches(k, keys.PageDown):
			vp.PageDown()
		case key.Matches(k, keys.Home):
			vp.GotoTop()
		case key.Matches(k, keys.End):
			vp.GotoBottom()
		}
		return nil
	case paneQueue:
		q := m.visibleQueue()
		i := m.queueIndex()
		switch {
		case key.Matches(k, keys.Up, keys.Left):
			i--
		case key.Matches(k, keys.Down, keys.Right):
			i++
		case key.Matches(k, keys.Home, keys.PageUp):
			i = 0
		case key.Matches(k, keys.End, keys.PageDown):
			i = len(q) - 1
		default:
			return nil
		}
		if len(q) > 0 {
			m.queueID = q[clamp(i, 0, len(q)-1)].ID
		}
		return m.detailCmd()
	}
	g := m.layout().grid
	cols := max(g.cols, 1)
	n := m.nVisible()
	page := max(g.visibleSlots()-cols, cols)
	sel := m.sel
	switch {
	case key.Matches(k, keys.Up):
		sel -= cols
	case key.Matches(k, keys.Down):
		sel += cols
	case key.Matches(k, keys.Left):
		sel--
	case key.Matches(k, keys.Right):
		sel++
	case key.Matches(k, keys.PageUp):
		sel -= page
	case key.Matches(k, keys.PageDown):
		sel += page
	case key.Matches(k, keys.Home):
		sel = 0
	case key.Matches(k, keys.End):
		sel = n - 1
	default:
		return nil
	}
	m.sel = clamp(sel, 0, max(n-1, 0))
	m.top = scrollTop(m.top, m.selRow(g), g.rows, m.totalRows(g))
	return m.detailCmd()
}

func (m *model) cyclePane(d int) {
	panes := []pane{paneSlots, paneQueue, paneEvents}
	if m.opts.Logs != nil {
		panes = append(panes, paneLogs)
	}
	i := 0
	for j, p := range panes {
		if p == m.focus {
			i = j
		}
	}
	m.focus = panes[(i+d+len(panes))%len(panes)]
	m.reflow()
}

func (m *model) switchLot(d int) {
	if m.board == nil || len(m.board.lots) < 2 {
		m.setStatus(stInfo, "there is one lot")
		return
	}
	m.lot = (m.lot + d + len(m.board.lots)) % len(m.board.lots)
	m.sel, m.top = 0, 0
	m.refilter()
	m.focus = paneSlots
	m.reflow()
}

func (m *model) setFilter(f string) {
	m.filter = f
	m.refilter()
	m.fixQueueSel()
	m.top = 0
	m.reflow()
}

// askQuit quits, or asks first when an embedded daemon still has calls:
// quitting stops the daemon, which hangs them up.
func (m *model) askQuit() tea.Cmd {
	if !m.opts.Embedded || m.board == nil {
		return m.quitNow()
	}
	parked, queued := m.board.occupied(), len(m.board.queue)
	if parked+queued == 0 {
		return m.quitNow()
	}
	m.prompt = newConfirm(promptQuit, "Quit parkd? "+callsPhrase(parked, queued)+" will be hung up. y quits, any other key stays", nil)
	return nil
}
