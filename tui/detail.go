package tui

import (
	"context"
	"time"

	bt "github.com/charmbracelet/bubbletea"

	"github.com/parkd/parkd/parkd"
)

// The detail pane asks the daemon for two things the events do not
// carry: a call's history and a slot's recall policy with its sources.
// Both are fetched when the selection settles on something new (a short
// debounce, so holding an arrow key over 1,000 slots costs nothing), and
// kept until an event says they changed.

// detailDebounce is how long the selection must rest before the detail
// pane asks the daemon.
const detailDebounce = 120 * time.Millisecond

// maxCached bounds each cache; past it the cache starts over.
const maxCached = 256

type fetched[T any] struct {
	val     T
	err     error
	loading bool
	stale   bool
}

type detailCache struct {
	history map[string]*fetched[parkd.HistoryPage] // by SIP Call-ID
	policy  map[string]*fetched[parkd.PolicyView]  // by scope
}

func newDetailCache() detailCache {
	return detailCache{history: map[string]*fetched[parkd.HistoryPage]{}, policy: map[string]*fetched[parkd.PolicyView]{}}
}

// reset forgets everything: after a snapshot nothing cached can be trusted.
func (d *detailCache) reset() { *d = newDetailCache() }

// touch marks what an event changed as stale.
func (d *detailCache) touch(ev parkd.Event) {
	if ev.Call != nil {
		if h := d.history[ev.Call.CallID]; h != nil {
			h.stale = true
		}
	}
	if ev.Kind == parkd.EventPolicy && ev.Slot != "" {
		if p := d.policy["slots/"+ev.Slot]; p != nil {
			p.stale = true
		}
	}
}

// detailKey names what the detail pane shows: a call's history and a
// slot's policy scope.
type detailKey struct {
	callID string // SIP Call-ID, for History
	scope  string // "slots/N", for Policy
}

func (m *model) detailKey() detailKey {
	var k detailKey
	if c := m.selectedCall(); c != nil {
		k.callID = c.CallID
	}
	if m.focus != paneQueue {
		if s := m.selectedSlot(); s != nil {
			k.scope = "slots/" + s.Slot
		}
	}
	return k
}

// stale says whether the pane lacks something for k.
func (d *detailCache) stale(k detailKey) bool {
	if k.callID != "" {
		h := d.history[k.callID]
		if h == nil || (h.stale && !h.loading) {
			return true
		}
	}
	if k.scope != "" {
		p := d.policy[k.scope]
		if p == nil || (p.stale && !p.loading) {
			return true
		}
	}
	return false
}

type detailDueMsg struct{ key detailKey }

// detailMsg is a fetched history or policy.
type detailMsg struct {
	callID  string
	history parkd.HistoryPage
	scope   string
	policy  parkd.PolicyView
	err     error
}

// detailCmd asks for what the selection needs, after the debounce.
func (m *model) detailCmd() bt.Cmd {
	k := m.detailKey()
	if !m.detail.stale(k) {
		return nil
	}
	return bt.Tick(detailDebounce, func(time.Time) bt.Msg { return detailDueMsg{k} })
}

func (m *model) onDetailDue(msg detailDueMsg) bt.Cmd {
	if msg.key != m.detailKey() || !m.conn.up {
		return nil // the selection moved on, or there is nobody to ask
	}
	var cmds []bt.Cmd
	if id := msg.key.callID; id != "" {
		if h := m.detail.history[id]; h == nil || (h.stale && !h.loading) {
			if h == nil {
				if len(m.detail.history) >= maxCached {
					m.detail.history = map[string]*fetched[parkd.HistoryPage]{}
				}
				h = &fetched[parkd.HistoryPage]{}
				m.detail.history[id] = h
			}
			h.loading, h.stale = true, false
			cmds = append(cmds, fetchHistory(m.client, id))
		}
	}
	if sc := msg.key.scope; sc != "" {
		if p := m.detail.policy[sc]; p == nil || (p.stale && !p.loading) {
			if p == nil {
				if len(m.detail.policy) >= maxCached {
					m.detail.policy = map[string]*fetched[parkd.PolicyView]{}
				}
				p = &fetched[parkd.PolicyView]{}
				m.detail.policy[sc] = p
			}
			p.loading, p.stale = true, false
			cmds = append(cmds, fetchPolicy(m.client, sc))
		}
	}
	return bt.Batch(cmds...)
}

// onDetail keeps a fetched answer. An event that arrived while it was
// on its way left it stale, and it is asked for again.
func (m *model) onDetail(msg detailMsg) bt.Cmd {
	switch {
	case msg.callID != "":
		if h := m.detail.history[msg.callID]; h != nil {
			h.val, h.err, h.loading = msg.history, msg.err, false
		}
	case msg.scope != "":
		if p := m.detail.policy[msg.scope]; p != nil {
			p.val, p.err, p.loading = msg.policy, msg.err, false
		}
	}
	return m.detailCmd()
}

// historyLimit is how much of a call's story the pane asks for.
const historyLimit = 50

func fetchHistory(c parkd.Client, callID string) bt.Cmd {
	return func() bt.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		page, err := c.History(ctx, parkd.HistoryFilter{CallID: callID, Limit: historyLimit})
		return detailMsg{callID: callID, history: page, err: err}
	}
}

func fetchPolicy(c parkd.Client, scope string) bt.Cmd {
	return func() bt.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		v, err := c.Policy(ctx, scope)
		return detailMsg{scope: scope, policy: v, err: err}
	}
}
