package parkd

import (
	"testing"
	"time"
)

func TestDTMFMatcher(t *testing.T) {
	type key struct {
		d     rune
		after time.Duration // since the previous digit
	}
	quick := func(s string) []key {
		var ks []key
		for _, r := range s {
			ks = append(ks, key{r, 200 * time.Millisecond})
		}
		return ks
	}
	cases := []struct {
		name  string
		seq   string
		keys  []key
		fires int
	}{
		{"exact", "#72", quick("#72"), 1},
		{"after other digits", "#72", quick("12#72"), 1},
		{"twice", "#72", quick("#72#72"), 2},
		{"overlapping prefix", "##1", quick("###1"), 1},
		{"wrong order", "#72", quick("#27"), 0},
		{"too slow", "#72", []key{{'#', 0}, {'7', 4 * time.Second}, {'2', 100 * time.Millisecond}}, 0},
		{"slow but within the gap", "#72", []key{{'#', 0}, {'7', 2 * time.Second}, {'2', 2 * time.Second}}, 1},
		{"one digit", "*", quick("1*2*"), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
			fired := 0
			m := newDTMFMatcher(tc.seq, func() time.Time { return now }, func() { fired++ })
			for _, k := range tc.keys {
				now = now.Add(k.after)
				m.digit(k.d)
			}
			if fired != tc.fires {
				t.Errorf("%v pressed against %q fired %d times, want %d", tc.keys, tc.seq, fired, tc.fires)
			}
		})
	}
}
