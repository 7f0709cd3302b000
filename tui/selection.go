package tui

import (
	"strings"

	"github.com/parkd/parkd/parkd"
)

// The selection is an index into the selected lot's visible slots (the
// filter narrows them) and a queued call's id (positions shift as calls
// leave; ids do not).

func (m *model) currentLot() *lotBoard {
	if m.board == nil || m.lot >= len(m.board.lots) {
		return nil
	}
	return m.board.lots[m.lot]
}

func (m *model) nVisible() int {
	l := m.currentLot()
	switch {
	case l == nil:
		return 0
	case m.visible != nil:
		return len(m.visible)
	}
	return len(l.slots)
}

func (m *model) visibleSlot(i int) *slotState {
	l := m.currentLot()
	if l == nil || i < 0 || i >= m.nVisible() {
		return nil
	}
	if m.visible != nil {
		return l.slots[m.visible[i]]
	}
	return l.slots[i]
}

func (m *model) selectedSlot() *slotState { return m.visibleSlot(m.sel) }

func (m *model) selectSlot(name string) {
	for i := range m.nVisible() {
		if m.visibleSlot(i).Slot == name {
			m.sel = i
			return
		}
	}
	m.sel = clamp(m.sel, 0, max(m.nVisible()-1, 0))
}

func (m *model) selRow(g grid) int { return m.sel / max(g.cols, 1) }

func (m *model) totalRows(g grid) int {
	cols := max(g.cols, 1)
	return (m.nVisible() + cols - 1) / cols
}

// selectedQueued is the queued call the queue pane has selected (and
// that p parks), whichever pane has focus.
func (m *model) selectedQueued() *parkd.CallView {
	if m.board == nil {
		return nil
	}
	for i := range m.board.queue {
		if m.board.queue[i].ID == m.queueID {
			return &m.board.queue[i]
		}
	}
	return nil
}

func (m *model) queueIndex() int {
	if m.board == nil {
		return -1
	}
	for i, c := range m.visibleQueue() {
		if c.ID == m.queueID {
			return i
		}
	}
	return -1
}

// visibleQueue is the queue as the filter shows it.
func (m *model) visibleQueue() []parkd.CallView {
	if m.board == nil {
		return nil
	}
	if m.filter == "" {
		return m.board.queue
	}
	var out []parkd.CallView
	for _, c := range m.board.queue {
		if matchCall(&c, m.filter) {
			out = append(out, c)
		}
	}
	return out
}

// fixQueueSel keeps a queued call selected while there is one: the one
// that was, else the one that took its place.
func (m *model) fixQueueSel() {
	q := m.visibleQueue()
	if len(q) == 0 {
		m.queueID = ""
		return
	}
	if m.queueIndex() < 0 {
		m.queueID = q[0].ID
	}
}

// selectedCall is the call the selection points at: the queued call when
// the queue has focus, else the selected slot's call.
func (m *model) selectedCall() *parkd.CallView {
	if m.focus == paneQueue {
		return m.selectedQueued()
	}
	if s := m.selectedSlot(); s != nil {
		return s.Call
	}
	return nil
}

func (m *model) selectedCallID() string {
	if c := m.selectedCall(); c != nil {
		return c.ID
	}
	return ""
}

// refilter recomputes which of the lot's slots pass the filter: a slot
// number, or part of the caller's name or number (case-insensitive).
func (m *model) refilter() {
	l := m.currentLot()
	if m.filter == "" || l == nil {
		m.visible = nil
		return
	}
	selName := ""
	if s := m.selectedSlot(); s != nil {
		selName = s.Slot
	}
	m.visible = make([]int, 0, len(l.slots)) // non-nil: a filter is on
	for i, s := range l.slots {
		if matchSlot(s, m.filter) {
			m.visible = append(m.visible, i)
		}
	}
	if selName != "" {
		m.selectSlot(selName)
	}
	m.sel = clamp(m.sel, 0, max(len(m.visible)-1, 0))
}

func matchSlot(s *slotState, f string) bool {
	if strings.Contains(s.Slot, f) {
		return true
	}
	return s.Call != nil && matchCall(s.Call, f)
}

func matchCall(c *parkd.CallView, f string) bool {
	f = strings.ToLower(f)
	return strings.Contains(strings.ToLower(c.Caller.Display), f) ||
		strings.Contains(strings.ToLower(c.Caller.Number), f) ||
		strings.Contains(strings.ToLower(c.Caller.URI), f)
}
