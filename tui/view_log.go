package tui

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/viewport"

	"github.com/parkd/parkd/parkd"
)

// ring keeps the newest max lines: the event log and the daemon log stay
// the same size however long the console runs.
type ring struct {
	buf   []string
	start int
	max   int
}

func newRing(max int) *ring { return &ring{max: max} }

func (r *ring) add(s string) {
	if len(r.buf) < r.max {
		r.buf = append(r.buf, s)
		return
	}
	r.buf[r.start] = s
	r.start = (r.start + 1) % r.max
}

func (r *ring) len() int { return len(r.buf) }

// lines are the kept lines, oldest first.
func (r *ring) lines() []string {
	out := make([]string, 0, len(r.buf))
	out = append(out, r.buf[r.start:]...)
	return append(out, r.buf[:r.start]...)
}

// logEvent turns an event into one line of the event log: time, kind,
// slot (or the queue), caller, detail.
func (m *model) logEvent(ev parkd.Event) {
	t := ev.Time
	if t.IsZero() {
		t = m.now()
	}
	where := ev.Slot
	if where == "" && ev.Lot != "" && ev.Call != nil && ev.Call.Position > 0 {
		where = "q" + fmt.Sprint(ev.Call.Position)
	}
	who := ""
	if ev.Call != nil {
		who = partyName(ev.Call.Caller)
	}
	m.logLine(t, string(ev.Kind), where, who, eventDetail(ev))
}

// eventDetail says in words what the event's Detail and call add.
func eventDetail(ev parkd.Event) string {
	d := ev.Detail
	switch ev.Kind {
	case parkd.EventParked:
		if ev.Call != nil && ev.Call.Parker != nil {
			by := "by " + partyName(*ev.Call.Parker)
			if d == "" {
				return by
			}
			return d + ", " + by
		}
	case parkd.EventSubscribers:
		return fmt.Sprintf("%d BLF watching", ev.Subscribers)
	case parkd.EventRecalling:
		if d != "" {
			return "ringing " + d
		}
	case parkd.EventRinging:
		if d != "" {
			return "ringing " + d
		}
	case parkd.EventQueued:
		if ev.Call != nil && ev.Lot != "" {
			return fmt.Sprintf("for the attendant of %s, position %d", ev.Lot, ev.Call.Position)
		}
	}
	return d
}

// logLine formats and keeps one event log line. Lines are formatted once,
// when they arrive, not on every frame.
func (m *model) logLine(t time.Time, kind, where, who, detail string) {
	st := m.st
	kindStyle := st.dim
	switch parkd.EventKind(kind) {
	case parkd.EventParked, parkd.EventQueued, parkd.EventReparked:
		kindStyle = st.parked
	case parkd.EventRecalling, parkd.EventRecallFailed:
		kindStyle = st.recall
	case parkd.EventRingFailed, parkd.EventAbandoned, parkd.EventHungUp, parkd.EventEnded, parkd.EventOverdue:
		kindStyle = st.overdue
	case parkd.EventRetrieved, parkd.EventRinging, parkd.EventRecalled, parkd.EventBridged, parkd.EventForwarded:
		kindStyle = st.retrieving
	}
	switch kind {
	case "connection":
		kindStyle = st.bad
	case "connected", "resync":
		kindStyle = st.good
	}
	var b strings.Builder
	b.WriteString(st.dim.Render(t.In(m.now().Location()).Format("15:04:05")))
	b.WriteByte(' ')
	b.WriteString(kindStyle.Render(fit(kind, 14)))
	b.WriteString(fit(where, 5))
	b.WriteByte(' ')
	if who != "" {
		b.WriteString(st.bold.Render(who))
		b.WriteString("  ")
	}
	b.WriteString(detail)
	m.events.add(b.String())
}

// viewEvents draws the event log pane.
func (m *model) viewEvents(r rect) []string {
	return m.viewLogPane(r, "Events", &m.evView, m.events, paneEvents, "no events yet")
}

// viewLogs draws the embedded daemon's log pane.
func (m *model) viewLogs(r rect) []string {
	return m.viewLogPane(r, "Daemon log", &m.lgView, m.logs, paneLogs, "no log lines yet")
}

func (m *model) viewLogPane(r rect, title string, vp *viewport.Model, rg *ring, p pane, empty string) []string {
	if r.h <= 0 {
		return nil
	}
	if rg.len() > 0 && !vp.AtBottom() {
		title += " · scrolled up (G: newest)"
	}
	lines := []string{m.paneTitle(title, r.w, m.focus == p)}
	if rg.len() == 0 {
		lines = append(lines, m.st.dim.Render(" "+empty))
		return padLines(lines, r.w, r.h)
	}
	lines = append(lines, strings.Split(vp.View(), "\n")...)
	return padLines(lines, r.w, r.h)
}

// tidyLog shortens a daemon log line (slog text or JSON) for the pane:
// "09:40:32 INFO call parked slot=712 …" instead of the full timestamp
// and key names. A line it cannot read is kept as it is.
func (m *model) tidyLog(line string) string {
	var t, level, msg, rest string
	if strings.HasPrefix(line, "{") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			return line
		}
		t, _ = rec["time"].(string)
		level, _ = rec["level"].(string)
		msg, _ = rec["msg"].(string)
		delete(rec, "time")
		delete(rec, "level")
		delete(rec, "msg")
		keys := make([]string, 0, len(rec))
		for k := range rec {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%v", k, rec[k])
		}
		rest = b.String()
	} else {
		var ok bool
		if t, line, ok = cutField(line, "time="); !ok {
			return line
		}
		level, line, _ = cutField(line, "level=")
		msg, rest, _ = cutField(line, "msg=")
		if rest != "" {
			rest = " " + rest
		}
	}
	if ts, err := time.Parse(time.RFC3339Nano, t); err == nil {
		t = ts.In(m.now().Location()).Format("15:04:05")
	}
	lv := m.st.dim.Render(fit(level, 5))
	switch level {
	case "WARN":
		lv = m.st.recall.Render(fit(level, 5))
	case "ERROR":
		lv = m.st.overdue.Render(fit(level, 5))
	}
	return m.st.dim.Render(t) + " " + lv + " " + msg + m.st.dim.Render(rest)
}

// cutField reads one key=value of slog's text format at the start of s
// (the value quoted or not) and returns the value and what follows.
func cutField(s, key string) (val, rest string, ok bool) {
	s = strings.TrimLeft(s, " ")
	if !strings.HasPrefix(s, key) {
		return "", s, false
	}
	s = s[len(key):]
	if strings.HasPrefix(s, `"`) {
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				v, err := strconv.Unquote(s[:i+1])
				if err != nil {
					v = s[1:i]
				}
				return v, strings.TrimLeft(s[i+1:], " "), true
			}
		}
		return s, "", true
	}
	val, rest, _ = strings.Cut(s, " ")
	return val, rest, true
}
