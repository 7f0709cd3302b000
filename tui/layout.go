package tui

// The screen is cut into rectangles by one function, used both to draw
// and to find what a mouse click hit, so the two never disagree.

type rect struct{ x, y, w, h int }

func (r rect) contains(x, y int) bool {
	return r.h > 0 && r.w > 0 && x >= r.x && x < r.x+r.w && y >= r.y && y < r.y+r.h
}

type pane int

const (
	paneSlots pane = iota
	paneQueue
	paneEvents
	paneLogs // the embedded daemon's log, when there is one
)

type layout struct {
	w, h                 int
	header               rect
	slots, queue, detail rect
	events, logs         rect // logs.h == 0: not shown (attached, or no room)
	status, help         rect
	wide                 bool // queue and detail beside the slots, not under
	grid                 grid
}

// grid is how the slots pane lays out its slots: cards in columns, or a
// table (one slot per row, cols == 1) when it is narrow.
type grid struct {
	table       bool
	cols        int
	cellW       int // a card's width; the table's row width
	cellH       int // rows per card (3 lines and a spacer), 1 for the table
	top         int // y of the first row of slots (below title and column heads)
	rows        int // visible rows of slots
	x           int
	columnHeads bool
}

const (
	wideMinW  = 120 // from here queue and detail sit beside the slots
	wideMinH  = 20
	cardMinW  = 24 // narrowest card that still shows caller and timers
	sideMinW  = 44
	sideMaxW  = 64
	gridMinW  = 3*cardMinW + 2
	tinyH     = 10
	eventsMin = 4
)

func clamp(v, lo, hi int) int {
	if hi < lo {
		hi = lo
	}
	return max(lo, min(v, hi))
}

// computeLayout cuts a w×h screen for a lot of nSlots slots (as
// filtered) and a queue of queued calls. showLogs: the daemon's log
// exists (embedded); narrow screens show it in place of the events when
// its pane has focus. Space the slots do not need goes to the events.
func computeLayout(w, h, nSlots, queued int, showLogs bool, focus pane) layout {
	l := layout{w: w, h: h}
	l.header = rect{0, 0, w, 1}
	if h < tinyH {
		// Too small for panes: the header, the slots and the status line.
		l.slots = rect{0, 1, w, max(h-2, 0)}
		l.status = rect{0, max(h-1, 1), w, 1}
		l.grid = tableGrid(l.slots)
		return l
	}
	l.status = rect{0, h - 2, w, 1}
	l.help = rect{0, h - 1, w, 1}
	avail := h - 3 // header, status, help
	if w >= wideMinW && h >= wideMinH {
		// Slots and the logs on the left; queue and detail on the right,
		// the whole height.
		l.wide = true
		sideW := clamp(w*35/100, sideMinW, sideMaxW)
		leftW := w - sideW - 1 // a column of space between
		qH := 1 + clamp(queued, 1, max((avail-1)/3, 1))
		l.queue = rect{leftW + 1, 1, sideW, qH}
		l.detail = rect{leftW + 1, 1 + qH, sideW, avail - qH}

		logMin := clamp(avail/4, eventsMin, 12)
		slotsH := avail - logMin
		probe := rect{0, 1, leftW, slotsH}
		if leftW >= gridMinW {
			l.grid = cardGrid(probe)
		} else {
			l.grid = tableGrid(probe)
		}
		if need := l.grid.linesFor(nSlots); need < slotsH {
			slotsH = max(need, avail/3)
		}
		l.slots = rect{0, 1, leftW, slotsH}
		l.grid = l.grid.within(l.slots)
		y, logH := 1+slotsH, avail-slotsH
		if showLogs && logH >= 2*eventsMin {
			// Stacked, each the full width: log lines are long.
			evH := logH * 3 / 5
			l.events = rect{0, y, leftW, evH}
			l.logs = rect{0, y + evH, leftW, logH - evH}
		} else {
			l.events = rect{0, y, leftW, logH}
		}
		return l
	}
	detailH := clamp(avail/5, 3, 12)
	logH := clamp(avail/5, eventsMin, 12)
	qH := 1 + min(queued, clamp(avail/5, 1, 8)) // waiting callers matter most
	slotsH := avail - detailH - logH - qH
	if slotsH < 4 { // short screen: the slots come first
		detailH, slotsH = 0, avail-logH-qH
	}
	l.grid = tableGrid(rect{0, 1, w, slotsH})
	if need := l.grid.linesFor(nSlots); need < slotsH {
		logH += slotsH - max(need, 4)
		slotsH = max(need, 4)
	}
	y := 1
	l.slots = rect{0, y, w, slotsH}
	l.grid = tableGrid(l.slots)
	y += slotsH
	l.queue = rect{0, y, w, qH}
	y += qH
	l.detail = rect{0, y, w, detailH}
	y += detailH
	l.events = rect{0, y, w, logH}
	if showLogs && focus == paneLogs {
		l.logs, l.events = l.events, rect{}
	}
	return l
}

// linesFor is how many lines the pane needs to show n slots at once.
func (g grid) linesFor(n int) int {
	rows := (n + g.cols - 1) / max(g.cols, 1)
	if g.table {
		return 2 + rows
	}
	return 1 + rows*g.cellH - 1
}

// within is the grid recomputed for the pane's final rectangle.
func (g grid) within(r rect) grid {
	if g.table {
		return tableGrid(r)
	}
	return cardGrid(r)
}

func tableGrid(r rect) grid {
	return grid{table: true, cols: 1, cellW: r.w, cellH: 1, x: r.x, top: r.y + 2, rows: max(r.h-2, 0), columnHeads: true}
}

func cardGrid(r rect) grid {
	cols := max((r.w+1)/(cardMinW+1), 1)
	cellW := (r.w - (cols - 1)) / cols
	g := grid{cols: cols, cellW: cellW, cellH: 4, x: r.x, top: r.y + 1}
	g.rows = (r.h - 1 + 1) / g.cellH // the last card needs no spacer
	if g.rows < 2 {
		g.cellH = 3
		g.rows = (r.h - 1) / g.cellH
	}
	return g
}

// visibleSlots is how many slots fit at once.
func (g grid) visibleSlots() int { return g.rows * g.cols }

// slotAt is the index (from the first visible row, top) of the slot at
// screen cell x, y; -1 when the click hit no slot.
func (g grid) slotAt(x, y, top int) int {
	if y < g.top || x < g.x {
		return -1
	}
	row := (y - g.top) / g.cellH
	if row >= g.rows || (!g.table && (y-g.top)%g.cellH == 3) {
		return -1
	}
	col := 0
	if !g.table {
		col = (x - g.x) / (g.cellW + 1)
		if col >= g.cols || (x-g.x)%(g.cellW+1) == g.cellW {
			return -1
		}
	}
	return (top+row)*g.cols + col
}

// scrollTop keeps the selected row on screen with the fewest moves.
func scrollTop(top, selRow, rows, total int) int {
	if rows <= 0 {
		return 0
	}
	if selRow < top {
		top = selRow
	}
	if selRow >= top+rows {
		top = selRow - rows + 1
	}
	return clamp(top, 0, max(total-rows, 0))
}
