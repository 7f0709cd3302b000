package tui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// viewHeader is the top line: where the daemon is and whether we hear
// it, every lot's slots used/total (the selected one in brackets), the
// calls waiting, and the clock.
func (m *model) viewHeader(now time.Time, w int) string {
	st := m.st
	sp := st.header.Render(" ")
	brand := st.brand.Render(" parkd ")
	conn := m.connText(now)
	clock := st.clock.Render(now.Format("15:04:05") + " ")

	queue := ""
	if m.board != nil {
		n := len(m.board.queue)
		style := st.header
		if n > 0 {
			style = st.connWait.Bold(true)
		}
		queue = style.Render(fmt.Sprintf("queue %d", n))
	}
	var lots []string
	if m.board != nil {
		for i, l := range m.board.lots {
			used, total := l.used(), l.view.Total
			s := fmt.Sprintf("%s %d/%d", l.view.Name, used, total)
			style := st.lot
			if total > 0 && used >= total {
				s += " full"
				style = st.lotFull
			}
			if i == m.lot {
				s = "[" + s + "]"
				style = st.lotSel
			}
			lots = append(lots, style.Render(s))
		}
	}
	addr := st.addr.Render(m.opts.Addr)
	right := strings.TrimSpace(strings.Join([]string{queue, clock}, sp+sp))
	// Drop what matters least until it fits: the address, then the lots
	// other than the selected one.
	for _, withAddr := range []bool{true, false} {
		for _, allLots := range []bool{true, false} {
			parts := []string{brand}
			if withAddr && m.opts.Addr != "" {
				parts = append(parts, addr)
			}
			parts = append(parts, conn)
			ls := lots
			if !allLots && m.lot < len(lots) {
				ls = lots[m.lot : m.lot+1]
			}
			if len(ls) > 0 {
				parts = append(parts, st.header.Render("│")+sp+strings.Join(ls, sp+sp))
			}
			left := strings.Join(parts, sp+sp)
			gap := w - ansi.StringWidth(left) - ansi.StringWidth(right)
			if gap >= 1 {
				return left + st.header.Render(strings.Repeat(" ", gap)) + right
			}
		}
	}
	return fit(brand+sp+conn, w)
}

// connText is the connection state; "disconnected" is the word a
// receptionist (and the end-to-end test) looks for.
func (m *model) connText(now time.Time) string {
	st := m.st
	switch {
	case m.conn.up:
		return st.connUp.Render("● live")
	case m.conn.err == nil:
		return st.connWait.Render("… connecting")
	}
	wait := int(math.Ceil(m.conn.retryAt.Sub(now).Seconds()))
	if wait < 1 {
		return st.connDown.Render("✗ disconnected — retrying now")
	}
	return st.connDown.Render(fmt.Sprintf("✗ disconnected — retrying in %ds", wait))
}
