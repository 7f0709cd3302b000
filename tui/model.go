package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/parkd/parkd/parkd"
)

// model is the console's state. Update is the only place it changes; the
// feed and the actions run elsewhere and report back with messages.
type model struct {
	client parkd.Client
	opts   Options
	now    func() time.Time
	feed   *feed
	keys   keyMap
	st     styles
	help   help.Model

	width, height int

	// The connection: up after a snapshot, down (with when the feed
	// retries) after a failure.
	conn connState

	board *board // nil until the first snapshot

	// Selection and scrolling.
	focus   pane
	lot     int    // selected lot
	sel     int    // selected slot, an index into the lot's visible slots
	top     int    // first visible row of slots
	queueID string // selected queued call
	filter  string
	visible []int // the lot's slots that pass the filter; nil: all

	events *ring
	logs   *ring
	evView viewport.Model
	lgView viewport.Model

	detail detailCache

	status statusLine
	prompt *prompt     // a question on the status line, or nil
	form   *policyForm // the recall policy form, or nil
	full   bool        // the `?` screen
	quit   bool        // quitting: the last frame is drawn
}

type connState struct {
	up      bool
	ever    bool // a snapshot arrived once: the board is stale, not empty
	err     error
	retryAt time.Time // when the feed tries again, for the countdown
}

// Bounds that keep memory flat however long the console runs.
const (
	maxEventLines = 1000
	maxLogLines   = 1000
)

func newModel(c parkd.Client, opts Options) *model {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	m := &model{
		client: c, opts: opts, now: now, feed: newFeed(c), keys: newKeyMap(), st: newStyles(),
		help: help.New(), events: newRing(maxEventLines), logs: newRing(maxLogLines),
		evView: viewport.New(0, 0), lgView: viewport.New(0, 0),
		detail: newDetailCache(),
	}
	m.help.Styles = m.st.help
	// The viewports scroll with our keys only when their pane has focus.
	m.evView.KeyMap = viewport.KeyMap{}
	m.lgView.KeyMap = viewport.KeyMap{}
	return m
}

type tickMsg time.Time

// tick redraws every second, on the second, for the clock and the
// timers; it asks the daemon nothing.
func tick() tea.Cmd {
	return tea.Every(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func (m *model) Init() tea.Cmd {
	return tea.Batch(m.feed.start(), m.feed.listen(), tick(), listenLogs(m.feed.ctx, m.opts.Logs))
}

func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.reflow()
		return m, nil
	case tickMsg:
		return m, tick()
	case snapshotMsg:
		m.onSnapshot(msg)
		return m, tea.Batch(m.feed.listen(), m.detailCmd())
	case eventsMsg:
		cmd := m.onEvents(msg)
		return m, tea.Batch(m.feed.listen(), cmd)
	case downMsg:
		m.onDown(msg)
		return m, m.feed.listen()
	case logLinesMsg:
		for _, l := range msg {
			m.logs.add(m.tidyLog(l))
		}
		m.refreshLog(&m.lgView, m.logs)
		return m, listenLogs(m.feed.ctx, m.opts.Logs)
	case logsClosedMsg:
		return m, nil
	case stopMsg:
		return m, m.quitNow()
	case actionMsg:
		return m, m.onAction(msg)
	case detailMsg:
		return m, m.onDetail(msg)
	case detailDueMsg:
		return m, m.onDetailDue(msg)
	case policyLoadedMsg:
		if m.form != nil {
			m.form.loaded(msg)
		}
		return m, nil
	case policySavedMsg:
		return m, m.onPolicySaved(msg)
	case tea.MouseMsg:
		return m, m.onMouse(msg)
	case tea.KeyMsg:
		return m, m.onKey(msg)
	}
	if m.form != nil {
		return m, m.form.update(msg)
	}
	if m.prompt != nil {
		return m, m.prompt.update(msg)
	}
	return m, nil
}

// quitNow ends the feed and the program.
func (m *model) quitNow() tea.Cmd {
	m.quit = true
	m.feed.stop()
	return tea.Quit
}

func (m *model) layout() layout {
	queued := 0
	if m.board != nil {
		queued = len(m.board.queue)
	}
	return computeLayout(m.width, m.height, m.nVisible(), queued, m.opts.Logs != nil, m.focus)
}

// reflow sizes everything that keeps a size of its own after a resize
// or after the queue grew or shrank (it moves the panes below it).
func (m *model) reflow() {
	l := m.layout()
	m.help.Width = m.width
	for _, v := range []struct {
		vp *viewport.Model
		r  rect
	}{{&m.evView, l.events}, {&m.lgView, l.logs}} {
		atBottom := v.vp.AtBottom()
		v.vp.Width, v.vp.Height = max(v.r.w, 0), max(v.r.h-1, 0)
		if atBottom {
			v.vp.GotoBottom()
		}
	}
	m.top = scrollTop(m.top, m.selRow(l.grid), l.grid.rows, m.totalRows(l.grid))
	if m.form != nil {
		m.form.resize(m.width)
	}
}

// onSnapshot replaces the board, keeping the selection where it was.
func (m *model) onSnapshot(s snapshotMsg) {
	lotName := ""
	selSlot := ""
	if m.board != nil && m.lot < len(m.board.lots) {
		lotName = m.board.lots[m.lot].view.Name
		if st := m.selectedSlot(); st != nil {
			selSlot = st.Slot
		}
	}
	wasDown := m.conn.ever && !m.conn.up
	m.board = newBoard(s)
	m.conn = connState{up: true, ever: true}
	m.detail.reset()
	if i := m.board.lotIndex(lotName); i >= 0 {
		m.lot = i
	} else {
		m.lot = 0
	}
	m.refilter()
	if selSlot != "" {
		m.selectSlot(selSlot)
	} else {
		m.sel = clamp(m.sel, 0, max(m.nVisible()-1, 0))
	}
	m.fixQueueSel()
	switch {
	case s.resync != "":
		m.logLine(m.now(), "resync", "", "", "fresh snapshot: "+s.resync)
	case wasDown:
		m.logLine(m.now(), "connected", "", "", "back in touch with parkd: fresh snapshot")
	}
	m.refreshLog(&m.evView, m.events)
	m.reflow()
}

func (m *model) onDown(d downMsg) {
	wasUp := m.conn.up
	m.conn.up, m.conn.err = false, d.err
	m.conn.retryAt = m.now().Add(d.wait)
	if wasUp {
		m.logLine(m.now(), "connection", "", "", "lost: "+errText(d.err))
		m.refreshLog(&m.evView, m.events)
	}
}

// onEvents applies a batch: the board, the event log, and what the
// detail pane has cached about the calls and slots it touched.
func (m *model) onEvents(evs eventsMsg) tea.Cmd {
	if m.board == nil {
		return nil
	}
	sel := m.selectedCallID()
	for _, ev := range evs {
		m.board.apply(ev)
		m.logEvent(ev)
		m.detail.touch(ev)
	}
	if m.filter != "" {
		m.refilter()
	}
	m.fixQueueSel()
	m.refreshLog(&m.evView, m.events)
	m.reflow() // the queue (or the filtered slots) may have grown or shrunk
	if sel != m.selectedCallID() || m.detail.stale(m.detailKey()) {
		return m.detailCmd()
	}
	return nil
}

// refreshLog puts a ring's lines in its viewport, following the newest
// line unless the user scrolled up to read.
func (m *model) refreshLog(vp *viewport.Model, r *ring) {
	follow := vp.AtBottom() || vp.TotalLineCount() == 0
	vp.SetContent(strings.Join(r.lines(), "\n"))
	if follow {
		vp.GotoBottom()
	}
}
