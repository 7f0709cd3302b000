package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// table is an aligned table for people. Colour goes on whole columns:
// tabwriter counts escape bytes as width, so every cell of a coloured
// column (header too) gets an escape of the same length and the columns
// still line up.
type table struct {
	colour  bool
	painted map[int]bool
	rows    [][]string
}

func (c *ctl) table(head ...string) *table {
	return &table{colour: c.colour, painted: map[int]bool{}, rows: [][]string{head}}
}

// paint marks a column whose words (states, event kinds) get colours.
func (t *table) paint(col int) *table {
	t.painted[col] = true
	return t
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for i, r := range t.rows {
		cells := make([]string, len(r))
		for j, cell := range r {
			if t.colour && t.painted[j] {
				word := cell
				if i == 0 {
					word = "" // the header keeps the default colour
				}
				cell = colourise(word, cell)
			}
			cells[j] = cell
		}
		// Every row has every cell: a short row would end tabwriter's
		// column block and misalign the rows below it.
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Empty trailing cells pad with blanks nobody wants to copy.
	for line := range strings.Lines(buf.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// colours by word: every code is two digits, so every escape is 9 bytes.
var colours = map[string]string{
	"parked": "33", "recalling": "35", "retrieving": "36", "ringing": "36",
	"queued": "34", "bridged": "32", "free": "32", "retrieved": "32",
	"recalled": "32", "forwarded": "32", "abandoned": "31", "hungup": "31",
	"ended": "31", "recall_failed": "31", "ring_failed": "31", "resync": "31",
	"reparked": "33", "moved": "36", "dequeued": "34", "overdue": "31", "lost": "31",
}

func colourise(word, text string) string {
	code, ok := colours[word]
	if !ok {
		code = "39" // the default colour, for the same width
	}
	return "\x1b[" + code + "m" + text + "\x1b[0m"
}

// paintWord colours one word outside a table (watch lines).
func (c *ctl) paintWord(word string) string {
	if !c.colour {
		return word
	}
	return colourise(word, word)
}

// short is a duration as a table shows it: 40s, 1m05s, 2h03m.
func short(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// since is how long ago t was; "" for a zero time.
func (c *ctl) since(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return short(c.now().Sub(t))
}

// until is how long until t; "due" once it has passed.
func (c *ctl) until(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	d := t.Sub(c.now())
	if d <= 0 {
		return "due"
	}
	return short(d)
}

// clock is a time in the local zone, to the second.
func clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// orDash fills an empty cell so columns of mostly-empty values still read.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
