package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Checks of the lots: each lot on its own, then what only the lots
// together can tell (numbers dialled twice, overflow loops, merged
// policies).

func (c Config) checkLots(ck *checker) {
	switch {
	case len(c.Lots) == 0:
		ck.add("lots", "at least one lot is required")
		return
	case len(c.Lots) > maxLots:
		ck.add("lots", "at most %d lots (got %d)", maxLots, len(c.Lots))
		return
	}
	names := map[string]int{}
	for i, l := range c.Lots {
		l.check(ck, LotKey(i))
		if j, dup := names[l.Name]; dup && l.Name != "" {
			ck.add(LotKey(i)+".name", "%q is already the name of lots[%d]", l.Name, j)
		} else {
			names[l.Name] = i
		}
	}
	c.checkNumbers(ck)
	c.checkOverflow(ck, names)
	c.checkLotPolicies(ck)
}

var lotNameRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// check validates one lot on its own; checkNumbers and checkOverflow look
// across lots.
func (l LotConfig) check(ck *checker, key string) {
	if !lotNameRE.MatchString(l.Name) {
		ck.add(key+".name", "must be 1–64 of a-z, 0-9, _ and - (got %q)", l.Name)
	}
	if l.Extension == "" {
		ck.add(key+".extension", `is required (the number that parks, like "700")`)
	}
	ck.addErr(key+".extension", CheckDialString(l.Extension))
	if l.RetrieveExtension != "" {
		ck.addErr(key+".retrieve_extension", CheckDialString(l.RetrieveExtension))
	}
	if l.Slots == "" {
		ck.add(key+".slots", `is required (a range like "701-720")`)
	}
	_, _, _, err := parseSlots(l.Slots)
	ck.addErr(key+".slots", err)
	checkEnum(ck.add, key+".find_slot", &l.FindSlot, findSlotValues)
	checkEnum(ck.add, key+".slot_action", &l.SlotAction, slotActionValues)
	ck.addErr(key+".when_full", checkWhenFull(l.WhenFull))
	checkEnum(ck.add, key+".transfer_to_occupied", &l.TransferToOccupied, transferValues)
	if l.NotifyParker != "" { // "" is message, as for a lot built in Go
		checkEnum(ck.add, key+".notify_parker", &l.NotifyParker, notifyValues)
	}
	l.checkTransfer(ck, key)
	if a := l.AttendantExtension; a != "" && CheckDialString(a) != nil && CheckSIPURI(a) != nil {
		ck.add(key+".attendant_extension", "%q is neither a dial string nor a sip: URI", a)
	}
	if l.Operator != "" {
		ck.addErr(key+".operator", CheckSIPURI(l.Operator))
	}
	if l.QueueMax < 0 || l.QueueMax > maxQueue {
		ck.add(key+".queue_max", "must be between 1 and %d, or 0 for the default %d (got %d)", maxQueue, DefaultQueueMax, l.QueueMax)
	}
	if l.QueueTimeout < 0 || l.QueueTimeout.D() > maxQueueTimeout {
		ck.add(key+".queue_timeout", "must be between 0s (no limit) and %s (got %s)", Duration(maxQueueTimeout), l.QueueTimeout)
	}
	ck.addErr(key+".queue_overflow", checkQueueOverflow(l.QueueOverflow))
	if l.AnswerDelay < 0 || l.AnswerDelay.D() > maxAnswerDelay {
		ck.add(key+".answer_delay", "must be between 0s and %s (got %s)", Duration(maxAnswerDelay), l.AnswerDelay)
	}
	ck.addPolicy(l.Policy.problems(key+".policy", 0))
	l.checkSlotPolicies(ck, key)
	l.checkKazoo(ck, key)
	l.checkRetrieveAllow(ck, key)
}

func (l LotConfig) checkSlotPolicies(ck *checker, key string) {
	if len(l.SlotPolicies) == 0 {
		return
	}
	_, _, _, rangeErr := parseSlots(l.Slots)
	for _, name := range slices.Sorted(maps.Keys(l.SlotPolicies)) {
		path := mapKey(key+".slot_policies", name)
		if rangeErr == nil && !l.hasSlot(name) { // a bad range is reported under .slots already
			ck.add(path, "%q is not a slot of this lot (slots %q)", name, l.Slots)
		}
		ck.addPolicy(l.SlotPolicies[name].problems(path, 0))
	}
}

// checkLotPolicies checks the merged policy of every lot and slot layer.
func (c Config) checkLotPolicies(ck *checker) {
	base := c.Defaults.Over(BuiltinPolicy())
	for i, l := range c.Lots {
		lotPolicy := l.Policy.Over(base)
		checkComplete(ck, LotKey(i)+".policy", l.Policy, lotPolicy)
		for _, name := range slices.Sorted(maps.Keys(l.SlotPolicies)) {
			sp := l.SlotPolicies[name]
			checkComplete(ck, mapKey(LotKey(i)+".slot_policies", name), sp, sp.Over(lotPolicy))
		}
	}
}

// checkNumbers makes every dialled number mean one thing: slot ranges must
// not overlap, and no extension may equal another extension or any slot.
func (c Config) checkNumbers(ck *checker) {
	spans := make([]span, len(c.Lots))
	owner := map[string]numberOwner{}
	for i, l := range c.Lots {
		first, last, width, err := parseSlots(l.Slots)
		if err != nil {
			continue
		}
		spans[i] = span{first, last, width}
		if j := overlapping(spans[:i], spans[i]); j >= 0 {
			ck.add(LotKey(i)+".slots", "range %q overlaps lots[%d].slots %q (lot %q)", l.Slots, j, c.Lots[j].Slots, c.Lots[j].Name)
			continue // its numbers are reported; registering them again costs time for nothing
		}
		for _, s := range l.SlotNames() {
			owner[s] = numberOwner{lot: i, key: "slots"}
		}
	}
	for i, l := range c.Lots {
		for _, f := range []struct{ key, num string }{
			{"extension", l.Extension},
			{"retrieve_extension", l.RetrieveExtension},
			{"attendant_extension", l.AttendantExtension},
		} {
			if f.num == "" || CheckDialString(f.num) != nil {
				continue
			}
			if o, taken := owner[f.num]; taken {
				ck.add(LotKey(i)+"."+f.key, "%q is already %s", f.num, o.describe(c, f.num))
				continue
			}
			owner[f.num] = numberOwner{lot: i, key: f.key}
		}
	}
}

// numberOwner is who dials a number: lots[lot].<key>.
type numberOwner struct {
	lot int
	key string // slots, extension or retrieve_extension
}

func (o numberOwner) describe(c Config, num string) string {
	name := c.Lots[o.lot].Name
	if o.key == "slots" {
		return fmt.Sprintf("slot %s of lot %q (%s.slots)", num, name, LotKey(o.lot))
	}
	return fmt.Sprintf("the %s of lot %q (%s.%s)", o.key, name, LotKey(o.lot), o.key)
}

// span is a parsed slot range; width 0 when it did not parse.
type span struct{ first, last, width int }

// overlapping returns the index of the first span that shares a number
// with s, or -1. Ranges of different widths never share a dial string.
func overlapping(spans []span, s span) int {
	for j, o := range spans {
		if o.width == s.width && s.first <= o.last && o.first <= s.last {
			return j
		}
	}
	return -1
}

// checkOverflow: an overflow target must be another lot, and following
// overflows must end somewhere — a loop would bounce a call forever.
func (c Config) checkOverflow(ck *checker, names map[string]int) {
	next := make([]int, len(c.Lots)) // overflow target index, -1 for none
	for i, l := range c.Lots {
		next[i] = -1
		action, target := l.WhenFullRule()
		if action != WhenFullOverflow {
			continue
		}
		j, ok := names[target]
		switch {
		case !ok:
			ck.add(LotKey(i)+".when_full", "overflow target %q is not a lot", target)
		case j == i:
			ck.add(LotKey(i)+".when_full", "lot %q overflows to itself", target)
		default:
			next[i] = j
		}
	}
	for i := range c.Lots {
		chain := []string{c.Lots[i].Name}
		for j, steps := next[i], 0; j >= 0 && steps < len(c.Lots); j, steps = next[j], steps+1 {
			chain = append(chain, c.Lots[j].Name)
			if j == i {
				ck.add(LotKey(i)+".when_full", "overflow loop: %s", strings.Join(chain, " → "))
				break
			}
		}
	}
}

// WhenFullRule splits when_full into its action (reject, overflow,
// forward) and target (a lot name or SIP URI; "" for reject).
func (l LotConfig) WhenFullRule() (action, target string) {
	action, target, _ = strings.Cut(l.WhenFull, ":")
	return action, target
}

func checkWhenFull(s string) error {
	action, target, hasTarget := strings.Cut(s, ":")
	switch {
	case s == WhenFullReject:
		return nil
	case action == WhenFullOverflow && hasTarget && target != "":
		return nil // the target is checked against the lots
	case action == WhenFullForward && hasTarget:
		return CheckSIPURI(target)
	}
	return fmt.Errorf("must be reject, overflow:<lot name> or forward:<sip uri> (got %q)", s)
}

// checkQueueOverflow accepts hangup or forward:<sip uri>.
func checkQueueOverflow(v string) error {
	if v == "" || v == QueueOverflowHangup {
		return nil
	}
	if target, ok := strings.CutPrefix(v, QueueOverflowForward+":"); ok {
		return CheckSIPURI(target)
	}
	return fmt.Errorf("%q is not %q or %q", v, QueueOverflowHangup, QueueOverflowForward+":<sip uri>")
}
