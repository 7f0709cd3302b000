package config

import "strconv"

// What a lot's kazoo: object does to the lot (the mapping itself is in
// kazoo.go).

// checkKazoo maps the lot's kazoo: object; its errors name Kazoo's keys.
func (l LotConfig) checkKazoo(ck *checker, key string) {
	if len(l.Kazoo) == 0 {
		return
	}
	first, _, _, err := parseSlots(l.Slots)
	kz, errs := ParseKazoo(l.Kazoo, key+".kazoo", l.hasSlot)
	ck.addPolicy(errs)
	if err == nil && kz.MaxSlot > 0 && kz.MaxSlot < first {
		ck.add(key+".kazoo.max_slot_number", "%d leaves no slot of %s to park in", kz.MaxSlot, l.Slots)
	}
}

// ParkSettings is how a lot parks once its kazoo: object is applied: the
// slot action (Kazoo's action wins over slot_action, so a pasted Kazoo
// object behaves as it did in Kazoo), a fixed slot for the park extension
// (Kazoo's slot) and the slots in use (Kazoo's max_slot_number cuts the
// range).
func (l LotConfig) ParkSettings(kz KazooPark) (action, fixedSlot string, slots []string) {
	action = l.SlotAction
	if kz.Action != "" {
		action = kz.Action
	}
	for _, name := range l.SlotNames() {
		if n, err := strconv.Atoi(name); kz.MaxSlot > 0 && err == nil && n > kz.MaxSlot {
			continue
		}
		slots = append(slots, name)
	}
	return action, kz.Slot, slots
}

// MappedKazoo is the lot's Kazoo object mapped; a config that validated maps
// without errors.
func (l LotConfig) MappedKazoo(key string) KazooPark {
	if len(l.Kazoo) == 0 {
		return KazooPark{}
	}
	kz, _ := ParseKazoo(l.Kazoo, key+".kazoo", l.hasSlot)
	return kz
}
