package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/parkd/parkd/parkd"
)

// View draws the whole screen. Every pane draws exactly its rectangle
// (padded and cut to size), so the frame is always width × height and a
// long caller name can never push the layout about.
func (m *model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	if m.quit {
		return ""
	}
	now := m.now()
	if m.full {
		return m.viewFullHelp()
	}
	l := m.layout()
	screen := make([]string, m.height)
	put := func(r rect, lines []string) {
		for i, line := range lines {
			if i >= r.h || r.y+i >= len(screen) {
				break
			}
			screen[r.y+i] = overlay(screen[r.y+i], r.x, line, m.width)
		}
	}
	put(l.header, []string{m.viewHeader(now, l.header.w)})
	if m.form != nil {
		body := rect{0, 1, m.width, max(m.height-3, 0)}
		if l.help.h == 0 {
			body.h = max(m.height-2, 0)
		}
		put(body, m.form.view(m, body, now))
	} else {
		put(l.slots, m.viewSlots(l, now))
		put(l.queue, m.viewQueue(l.queue, now))
		put(l.detail, m.viewDetail(l.detail, now))
		put(l.events, m.viewEvents(l.events))
		put(l.logs, m.viewLogs(l.logs))
	}
	put(l.status, []string{m.viewStatus(l.status.w, now)})
	put(l.help, []string{m.viewHelpBar(l.help.w)})
	for i := range screen {
		if screen[i] == "" {
			screen[i] = strings.Repeat(" ", m.width)
		}
	}
	return strings.Join(screen, "\n")
}

// overlay puts s at column x of line, keeping what line already holds
// left and right of it.
func overlay(line string, x int, s string, width int) string {
	s = fit(s, min(width-x, ansi.StringWidth(s)))
	w := ansi.StringWidth(line)
	left := line
	if w < x {
		left += strings.Repeat(" ", x-w)
	} else if w > x {
		left = ansi.Truncate(line, x, "")
	}
	right := ""
	if end := x + ansi.StringWidth(s); w > end {
		right = ansi.TruncateLeft(line, end, "")
	}
	return left + s + right
}

// fit cuts s to w cells (with an ellipsis) or pads it with spaces.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-sw)
}

// fitRight is fit, aligned to the right.
func fitRight(s string, w int) string {
	sw := ansi.StringWidth(s)
	if sw >= w {
		return fit(s, w)
	}
	return strings.Repeat(" ", w-sw) + s
}

// padLines makes lines exactly w wide and h high.
func padLines(lines []string, w, h int) []string {
	out := make([]string, h)
	for i := range out {
		if i < len(lines) {
			out[i] = fit(lines[i], w)
		} else {
			out[i] = strings.Repeat(" ", max(w, 0))
		}
	}
	return out
}

// paneTitle is a pane's first line: its name on a rule, bold with a
// marker when the pane has the keyboard (the marker reads in monochrome).
func (m *model) paneTitle(title string, w int, focused bool) string {
	mark, style := "─ ", m.st.title
	if focused {
		mark, style = "▶ ", m.st.titleFocus
	}
	head := mark + title + " "
	rest := w - ansi.StringWidth(head)
	if rest < 0 {
		return style.Render(fit(head, w))
	}
	return style.Render(head) + m.st.rule.Render(strings.Repeat("─", rest))
}

// partyName is how a person shows in a narrow space: the display name,
// else the number, else the URI.
func partyName(p parkd.Party) string {
	switch {
	case p.Display != "":
		return p.Display
	case p.Number != "":
		return p.Number
	}
	return strings.TrimPrefix(p.URI, "sip:")
}

// callerLine is a caller's name and number: "Alice Smith 1001".
func callerLine(p parkd.Party) string {
	if p.Display != "" && p.Number != "" && p.Display != p.Number {
		return p.Display + " " + p.Number
	}
	return partyName(p)
}

// clockDur is a running time: 0:42, 12:05, 1:02:03.
func clockDur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// errText is an error as the status line says it: the daemon's own
// message for a refused operation, plain words for the rest.
func errText(err error) string {
	var pe *parkd.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pe):
		if pe.Field != "" && pe.Code == parkd.CodeInvalidField && !strings.HasPrefix(pe.Message, pe.Field) {
			return pe.Field + ": " + pe.Message
		}
		return pe.Message
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("parkd did not answer within %s", callTimeout)
	}
	return err.Error()
}

// callsPhrase says how many calls: "2 parked calls and 1 queued call".
func callsPhrase(parked, queued int) string {
	plural := func(n int, what string) string {
		if n == 1 {
			return "1 " + what + " call"
		}
		return fmt.Sprintf("%d %s calls", n, what)
	}
	switch {
	case parked > 0 && queued > 0:
		return plural(parked, "parked") + " and " + plural(queued, "queued")
	case queued > 0:
		return plural(queued, "queued")
	}
	return plural(parked, "parked")
}

func widthOf(s string) int { return ansi.StringWidth(s) }
