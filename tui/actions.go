package tui

import (
	"context"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/parkd/parkd/parkd"
)

// Every operation on a call runs in a tea.Cmd with callTimeout, so a slow
// or vanished daemon never freezes the screen, and reports back with an
// actionMsg that the status line shows: what was done, or the daemon's
// own words for why not. What the operation changes arrives as events.

type actionMsg struct {
	what string
	ok   string
	err  error
}

// act runs fn against the daemon, or refuses at once when it cannot be
// reached: a receptionist must not wait five seconds to learn that.
func (m *model) act(what string, fn func(ctx context.Context, c parkd.Client) (string, error)) tea.Cmd {
	if !m.conn.up {
		m.setStatus(stErr, what+": refused, parkd is not connected (reconnecting)")
		return nil
	}
	m.setStatus(stInfo, what+"…")
	c := m.client
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		ok, err := fn(ctx, c)
		return actionMsg{what: what, ok: ok, err: err}
	}
}

func (m *model) onAction(a actionMsg) tea.Cmd {
	if a.err != nil {
		m.setStatus(stErr, a.what+": "+errText(a.err))
		return nil
	}
	m.setStatus(stOK, a.ok)
	return nil
}

// enter connects the selected queued call to my phone, or rings my phone
// to retrieve the selected slot's call ("my phone" is the lot's operator).
func (m *model) enter() tea.Cmd {
	switch m.focus {
	case paneQueue:
		c := m.selectedQueued()
		if c == nil {
			m.setStatus(stInfo, "nobody is waiting in the queue")
			return nil
		}
		id, who := c.ID, partyName(c.Caller)
		return m.act("connect "+who, func(ctx context.Context, cl parkd.Client) (string, error) {
			v, err := cl.Transfer(ctx, id, "")
			return fmt.Sprintf("ringing %s for %s", shortURI(v.RingingTo), who), err
		})
	case paneSlots:
		s := m.selectedSlot()
		if s == nil {
			return nil
		}
		if s.Call == nil {
			m.setStatus(stInfo, s.Slot+" is free: p parks the selected queued call")
			return nil
		}
		slot, who := s.Slot, partyName(s.Call.Caller)
		return m.act("retrieve "+slot, func(ctx context.Context, cl parkd.Client) (string, error) {
			v, err := cl.Retrieve(ctx, slot, parkd.RetrieveRequest{})
			to := ""
			if v.Call != nil {
				to = shortURI(v.Call.RingingTo)
			}
			return fmt.Sprintf("ringing %s to retrieve %s from %s", orWord(to, "my phone"), who, slot), err
		})
	}
	return nil
}

func orWord(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// openPark asks where to park the selected queued call. With a free slot
// selected in the slots pane, that slot is offered.
func (m *model) openPark() tea.Cmd {
	c := m.selectedQueued()
	if c == nil {
		m.setStatus(stInfo, "p parks a queued call, and nobody is waiting")
		return nil
	}
	id, who := c.ID, partyName(c.Caller)
	lot := ""
	if l := m.currentLot(); l != nil {
		lot = l.view.Name
	}
	// The receptionist parked it: its recall comes back to my phone.
	parker := m.operatorOf(c, nil)
	p := newInput(promptPark, "Park "+who+" in slot", "next free in "+lot)
	if s := m.selectedSlot(); m.focus == paneSlots && s != nil && s.Call == nil {
		p.input.SetValue(s.Slot)
		p.input.CursorEnd()
	}
	p.check = func(v string) string { return m.checkFreeSlot(v, "") }
	p.submit = func(v string) tea.Cmd {
		return m.act("park "+who, func(ctx context.Context, cl parkd.Client) (string, error) {
			req := parkd.ParkRequest{Slot: v, Parker: parker}
			if v == "" {
				req.Lot = lot
			}
			r, err := cl.Park(ctx, id, req)
			return fmt.Sprintf("parked %s in %s", who, r.Slot), err
		})
	}
	m.prompt = p
	return p.focus()
}

// checkFreeSlot says what is wrong with a slot typed for a park or a
// move, before the daemon is asked: "" is fine (the next free slot).
func (m *model) checkFreeSlot(v, from string) string {
	if v == "" || m.board == nil {
		return ""
	}
	s := m.board.slots[v]
	switch {
	case s == nil:
		return "no slot " + v
	case v == from:
		return "the call is in " + v + " already"
	case s.Call != nil:
		return v + " is occupied by " + partyName(s.Call.Caller)
	}
	return ""
}

// openRetrieve asks where to ring for the selected slot's call.
func (m *model) openRetrieve() tea.Cmd {
	s := m.parkedSelection("r retrieves")
	if s == nil {
		return nil
	}
	slot, who := s.Slot, partyName(s.Call.Caller)
	op := m.operatorOf(s.Call, s)
	p := newInput(promptRetrieve, "Retrieve "+who+" from "+slot+" to", "sip:user@host, or an extension")
	p.check = func(v string) string {
		if v != "" && !strings.HasPrefix(completeURI(v, op), "sip") {
			return "a sip: URI, or an extension when the lot has an operator"
		}
		return ""
	}
	p.hint = func(v string) string {
		if u := completeURI(v, op); u != v && u != "" {
			return "rings " + u
		}
		return ""
	}
	p.needed = true
	p.submit = func(v string) tea.Cmd {
		to := completeURI(v, op)
		return m.act("retrieve "+slot, func(ctx context.Context, cl parkd.Client) (string, error) {
			_, err := cl.Retrieve(ctx, slot, parkd.RetrieveRequest{To: to})
			return fmt.Sprintf("ringing %s to retrieve %s from %s", shortURI(to), who, slot), err
		})
	}
	m.prompt = p
	return p.focus()
}

// completeURI turns an extension typed by a receptionist ("1002") into a
// URI on the operator's host ("sip:1002@pbx.example"); a URI stays.
func completeURI(v, operator string) string {
	v = strings.TrimSpace(v)
	if v == "" || strings.Contains(v, ":") {
		return v
	}
	if strings.Contains(v, "@") {
		return "sip:" + v
	}
	_, host, ok := strings.Cut(operator, "@")
	if !ok {
		return v
	}
	host, _, _ = strings.Cut(host, ";")
	return "sip:" + v + "@" + host
}

// openMove asks which slot the selected slot's call moves to.
func (m *model) openMove() tea.Cmd {
	s := m.parkedSelection("m moves")
	if s == nil {
		return nil
	}
	from, who := s.Slot, partyName(s.Call.Caller)
	p := newInput(promptMove, "Move "+who+" from "+from+" to slot", "a free slot")
	p.needed = true
	p.check = func(v string) string { return m.checkFreeSlot(v, from) }
	p.submit = func(v string) tea.Cmd {
		return m.act("move "+from, func(ctx context.Context, cl parkd.Client) (string, error) {
			r, err := cl.Move(ctx, from, v)
			return fmt.Sprintf("moved %s from %s to %s", who, from, r.Slot), err
		})
	}
	m.prompt = p
	return p.focus()
}

// parkedSelection is the selected slot when it holds a call; otherwise it
// says why the key does nothing.
func (m *model) parkedSelection(what string) *slotState {
	if m.focus != paneSlots {
		m.setStatus(stInfo, what+" a parked call: select a slot first (tab)")
		return nil
	}
	s := m.selectedSlot()
	if s == nil || s.Call == nil {
		m.setStatus(stInfo, what+" a parked call, and this slot is free")
		return nil
	}
	return s
}

// openHangup asks before hanging up the selected call.
func (m *model) openHangup() tea.Cmd {
	c := m.selectedCall()
	if c == nil {
		m.setStatus(stInfo, "x hangs up a call: select a parked or queued call")
		return nil
	}
	id, who := c.ID, partyName(c.Caller)
	where := "queue"
	if c.Slot != "" {
		where = c.Slot
	}
	m.prompt = newConfirm(promptHangup, fmt.Sprintf("Hang up %s (%s)? y/n", who, where), func(string) tea.Cmd {
		return m.act("hang up "+who, func(ctx context.Context, cl parkd.Client) (string, error) {
			_, err := cl.Hangup(ctx, id)
			return "hung up " + who, err
		})
	})
	return nil
}

// openFilter narrows the slots and the queue as the filter is typed.
func (m *model) openFilter() tea.Cmd {
	p := newInput(promptFilter, "Filter", "slot number, caller name or number")
	p.input.SetValue(m.filter)
	p.input.CursorEnd()
	p.live = func(v string) { m.setFilter(v) }
	p.submit = func(string) tea.Cmd { return nil }
	m.prompt = p
	return p.focus()
}

// openPolicy opens the recall policy form on the selection's slot (or,
// from the queue, its lot); the form switches to the lot or the defaults.
func (m *model) openPolicy() tea.Cmd {
	if m.board == nil {
		m.setStatus(stInfo, "no slots yet")
		return nil
	}
	var scopes []scopeChoice
	if s := m.selectedSlot(); s != nil && m.focus != paneQueue {
		scopes = append(scopes, scopeChoice{"slot " + s.Slot, "slots/" + s.Slot})
	}
	lot := m.currentLot()
	if c := m.selectedQueued(); m.focus == paneQueue && c != nil {
		if i := m.board.lotIndex(c.Lot); i >= 0 {
			lot = m.board.lots[i]
		}
	}
	if lot != nil {
		scopes = append(scopes, scopeChoice{"lot " + lot.view.Name, "lots/" + lot.view.Name})
	}
	scopes = append(scopes, scopeChoice{"defaults", parkd.ScopeDefaults})
	if !m.conn.up {
		m.setStatus(stErr, "recall policy: refused, parkd is not connected (reconnecting)")
		return nil
	}
	m.form = newPolicyForm(scopes, m.width)
	return m.form.load(m.client)
}

func (m *model) onPolicySaved(msg policySavedMsg) tea.Cmd {
	if m.form == nil {
		return nil
	}
	if msg.err != nil {
		m.form.refused(msg.err)
		return nil
	}
	m.form = nil
	if p := m.detail.policy[msg.view.Scope]; p != nil {
		p.val, p.err, p.stale = msg.view, nil, false
	}
	m.setStatus(stOK, "recall policy of "+msg.view.Scope+" saved")
	// Lot and defaults changes reach many slots: their events mark what
	// the detail pane cached, and the selected slot is asked again.
	return m.detailCmd()
}
