package config

import "testing"

func TestSlotRange(t *testing.T) {
	tests := []struct {
		slots              string
		first, last, width int
		names0, namesLast  string
		count              int
	}{
		{"701-720", 701, 720, 3, "701", "720", 20},
		{"01-20", 1, 20, 2, "01", "20", 20},
		{"5", 5, 5, 1, "5", "5", 1},
		{"0000-0999", 0, 999, 4, "0000", "0999", 1000},
		{"720-701", 0, 0, 0, "", "", 0},
		{"", 0, 0, 0, "", "", 0},
	}
	for _, tt := range tests {
		l := LotConfig{Slots: tt.slots}
		f, la, w := l.SlotRange()
		names := l.SlotNames()
		if f != tt.first || la != tt.last || w != tt.width || len(names) != tt.count {
			t.Errorf("%q: SlotRange() = %d, %d, %d; %d names", tt.slots, f, la, w, len(names))
			continue
		}
		if tt.count > 0 && (names[0] != tt.names0 || names[len(names)-1] != tt.namesLast) {
			t.Errorf("%q: SlotNames() = %v…%v", tt.slots, names[0], names[len(names)-1])
		}
	}
}
