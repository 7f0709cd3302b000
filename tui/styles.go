package tui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
)

// Every style of the console lives here. Colours are adaptive (light and
// dark terminals), and no state is told by colour alone: each carries a
// symbol and a word too (see stateLook), so the screen reads the same in
// monochrome and under NO_COLOR, where lipgloss drops every style.
var (
	colAccent  = lipgloss.AdaptiveColor{Light: "#5A3FC0", Dark: "#A98BFF"}
	colGreen   = lipgloss.AdaptiveColor{Light: "#1A7F37", Dark: "#3FB950"}
	colYellow  = lipgloss.AdaptiveColor{Light: "#9A6700", Dark: "#E3B341"}
	colRed     = lipgloss.AdaptiveColor{Light: "#CF222E", Dark: "#FF7B72"}
	colBlue    = lipgloss.AdaptiveColor{Light: "#0969DA", Dark: "#58A6FF"}
	colDim     = lipgloss.AdaptiveColor{Light: "#8C959F", Dark: "#6E7681"}
	colFaint   = lipgloss.AdaptiveColor{Light: "#D0D7DE", Dark: "#30363D"}
	colText    = lipgloss.AdaptiveColor{Light: "#1F2328", Dark: "#E6EDF3"}
	colSelBg   = lipgloss.AdaptiveColor{Light: "#DDF4FF", Dark: "#1C2D41"}
	colHeaderB = lipgloss.AdaptiveColor{Light: "#F0EBFF", Dark: "#221C3A"}
)

type styles struct {
	// header
	header, brand, addr, clock lipgloss.Style
	connUp, connDown, connWait lipgloss.Style
	lot, lotSel, lotFull       lipgloss.Style

	// panes
	title, titleFocus, rule, colHead lipgloss.Style

	// slot states
	free, parked, recall, overdue, retrieving lipgloss.Style
	selGutter, selRow                         lipgloss.Style

	// text
	dim, bold, caller, timer, late, good, bad lipgloss.Style

	// status line and prompts
	statusOK, statusErr, statusInfo, prompt lipgloss.Style

	// the policy form
	formLabel, formFocus, formErr, formHint, formBox lipgloss.Style

	help help.Styles
}

func newStyles() styles {
	s := styles{}
	base := lipgloss.NewStyle()
	s.header = base.Background(colHeaderB).Foreground(colText)
	s.brand = base.Bold(true).Foreground(colAccent).Background(colHeaderB)
	s.addr = base.Foreground(colText).Background(colHeaderB)
	s.clock = base.Bold(true).Foreground(colText).Background(colHeaderB)
	s.connUp = base.Foreground(colGreen).Background(colHeaderB)
	s.connDown = base.Bold(true).Foreground(colRed).Background(colHeaderB)
	s.connWait = base.Foreground(colYellow).Background(colHeaderB)
	s.lot = base.Foreground(colText).Background(colHeaderB)
	s.lotSel = base.Bold(true).Underline(true).Foreground(colAccent).Background(colHeaderB)
	s.lotFull = base.Bold(true).Foreground(colRed).Background(colHeaderB)

	s.title = base.Foreground(colDim)
	s.titleFocus = base.Bold(true).Foreground(colAccent)
	s.rule = base.Foreground(colFaint)
	s.colHead = base.Foreground(colDim)

	s.free = base.Foreground(colDim)
	s.parked = base.Foreground(colGreen)
	s.recall = base.Bold(true).Foreground(colYellow)
	s.overdue = base.Bold(true).Foreground(colRed)
	s.retrieving = base.Bold(true).Foreground(colBlue)
	s.selGutter = base.Bold(true).Foreground(colAccent)
	s.selRow = base.Background(colSelBg)

	s.dim = base.Foreground(colDim)
	s.bold = base.Bold(true)
	s.caller = base.Bold(true).Foreground(colText)
	s.timer = base.Foreground(colText)
	s.late = base.Bold(true).Foreground(colRed)
	s.good = base.Foreground(colGreen)
	s.bad = base.Foreground(colRed)

	s.statusOK = base.Foreground(colGreen)
	s.statusErr = base.Bold(true).Foreground(colRed)
	s.statusInfo = base.Foreground(colText)
	s.prompt = base.Bold(true).Foreground(colAccent)

	s.formLabel = base.Foreground(colText)
	s.formFocus = base.Bold(true).Foreground(colAccent)
	s.formErr = base.Foreground(colRed)
	s.formHint = base.Foreground(colDim)
	s.formBox = base.Border(lipgloss.RoundedBorder()).BorderForeground(colAccent).Padding(0, 1)

	h := help.New().Styles
	h.ShortKey = base.Foreground(colAccent)
	h.ShortDesc = base.Foreground(colDim)
	h.FullKey = base.Bold(true).Foreground(colAccent)
	h.FullDesc = base.Foreground(colText)
	s.help = h
	return s
}

// look is how one slot state shows: a symbol and a word that read
// without colour, and the colour that makes it quick to spot.
type look struct {
	sym, word string
	style     lipgloss.Style
}

const (
	lookFree = iota
	lookParked
	lookRecall
	lookOverdue
	lookRetrieving
)

func (s styles) looks() [5]look {
	return [5]look{
		lookFree:       {"·", "free", s.free},
		lookParked:     {"●", "parked", s.parked},
		lookRecall:     {"↻", "RECALL", s.recall},
		lookOverdue:    {"!", "OVERDUE", s.overdue},
		lookRetrieving: {"→", "retrieving", s.retrieving},
	}
}
