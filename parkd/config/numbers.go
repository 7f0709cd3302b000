package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Dialled numbers: slot ranges, dial strings, and the RTP port range.

// SlotRange returns the parsed slot range and the digit width of its
// numbers (2 for "01-20"). All zero when the range does not parse;
// Validate says why.
func (l LotConfig) SlotRange() (first, last int, width int) {
	first, last, width, err := parseSlots(l.Slots)
	if err != nil {
		return 0, 0, 0
	}
	return first, last, width
}

// SlotNames lists the lot's slot numbers as dialled: "701".."720", or
// zero-padded "01".."20". Nil when the range does not parse.
func (l LotConfig) SlotNames() []string {
	first, last, width := l.SlotRange()
	if width == 0 {
		return nil
	}
	names := make([]string, 0, last-first+1)
	for n := first; n <= last; n++ {
		names = append(names, fmt.Sprintf("%0*d", width, n))
	}
	return names
}

// parseSlots reads "701-720" (or one number, "701"). Both ends have the
// same digit count so that every slot is dialled with as many digits.
func parseSlots(s string) (first, last, width int, err error) {
	lo, hi, isRange := strings.Cut(s, "-")
	lo = strings.TrimSpace(lo)
	hi = strings.TrimSpace(hi)
	if !isRange {
		hi = lo
	}
	if !isDigits(lo) || !isDigits(hi) {
		return 0, 0, 0, fmt.Errorf(`%q is not a range of slot numbers like "701-720"`, s)
	}
	if len(lo) != len(hi) {
		return 0, 0, 0, fmt.Errorf(`range %q: both ends need the same number of digits (zero-pad: "01-20")`, s)
	}
	if len(lo) > maxSlotDigits {
		return 0, 0, 0, fmt.Errorf("range %q: slot numbers have at most %d digits", s, maxSlotDigits)
	}
	first, _ = strconv.Atoi(lo)
	last, _ = strconv.Atoi(hi)
	if first > last {
		return 0, 0, 0, fmt.Errorf("range %q is reversed", s)
	}
	if n := last - first + 1; n > maxSlotsPerLot {
		return 0, 0, 0, fmt.Errorf("range %q has %d slots; at most %d", s, n, maxSlotsPerLot)
	}
	return first, last, len(lo), nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// CheckDialString: what a phone can dial, 1–64 of 0-9 * #, with a digit.
func CheckDialString(s string) error {
	if s == "" || len(s) > maxDialString || strings.Trim(s, "0123456789*#") != "" || strings.Trim(s, "*#") == "" {
		return fmt.Errorf("%q is not a dial string (1–%d of 0-9, * and #, with a digit)", s, maxDialString)
	}
	return nil
}

// hasSlot reports whether name is one of the lot's slot numbers (false
// for every name when the range itself is bad).
func (l LotConfig) hasSlot(name string) bool {
	first, last, width, err := parseSlots(l.Slots)
	n, convErr := strconv.Atoi(name)
	return err == nil && convErr == nil && isDigits(name) && len(name) == width && n >= first && n <= last
}

// RTPPortRange parses rtp.ports. Both even and odd ends are fine (the
// allocator picks even ports for RTP); at least two ports are needed.
func (c Config) RTPPortRange() (low, high int, err error) {
	low, high, err = parsePortRange(c.RTP.Ports)
	if err != nil {
		return 0, 0, &ConfigError{Key: "rtp.ports", Msg: err.Error()}
	}
	return low, high, nil
}

func parsePortRange(s string) (low, high int, err error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok || !isDigits(lo) || !isDigits(hi) || len(lo) > 5 || len(hi) > 5 {
		return 0, 0, fmt.Errorf(`%q is not a port range like "20000-20999"`, s)
	}
	low, _ = strconv.Atoi(lo)
	high, _ = strconv.Atoi(hi)
	switch {
	case low < 1024 || high > 65535:
		return 0, 0, fmt.Errorf("ports must be within 1024-65535 (got %q)", s)
	case low > high:
		return 0, 0, fmt.Errorf("range %q is reversed", s)
	case high-low+1 < 2:
		return 0, 0, fmt.Errorf("range %q needs at least 2 ports", s)
	}
	return low, high, nil
}
