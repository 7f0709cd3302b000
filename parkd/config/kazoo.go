package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file maps a lot's `kazoo:` object — a Kazoo callflow `park` action's
// `data` object, kept verbatim by the config reader — onto parkd's native
// settings (docs/CONFIG.md, "Kazoo mapping").
//
//	Kazoo key                          parkd setting
//	action                             the lot's slot_action
//	slot                               KazooPark.Slot (the slot a park at the extension goes to)
//	max_slot_number                    KazooPark.MaxSlot (higher slots are not used)
//	default_ringback_timeout (ms)      lot recall_after
//	default_callback_timeout (ms)      lot ring_parker_for
//	default_presence_type              lot presence_type
//	presence_id                        lot presence_id
//	slots.<n>.ringback_timeout (ms)    slot <n> recall_after
//	slots.<n>.callback_timeout (ms)    slot <n> ring_parker_for
//	slots.<n>.presence_type            slot <n> presence_type
//	slots.<n>.presence_id              slot <n> presence_id
//	custom_presence_id                 nothing (parkd always publishes a configured presence_id)
//	skip_module, force_presence_user   nothing; only false is accepted
//
// Why these rules:
//   - Both timeouts are integers of milliseconds. Kazoo's schema table calls
//     default_callback_timeout seconds, but cf_park waits both values as ms
//     (its built-in defaults are 120000 and 30000) and the docs' example
//     calls back for 26000, which is 26 s; as seconds it would be 7 hours.
//   - Kazoo data is JSON, so numbers may arrive as float64; a float with no
//     fraction is an integer. Strings, fractions and values outside parkd's
//     native range are refused, the range given in ms as the admin wrote it.
//   - null, and "" for the string keys, mean "not set": Kazoo reads them as
//     absent (non-empty getters), and parkd's config reads null so too.
//   - action left out stays "" rather than Kazoo's default park, so that the
//     lot's native slot_action applies.
//   - Kazoo's schema is closed for parkd's purpose: unknown keys are errors,
//     as everywhere else in parkd's config, and so are settings parkd cannot
//     honour (skip_module: true) rather than being silently dropped.
//   - Kazoo publishes presence_id only with custom_presence_id: true, else a
//     name derived from the dialled number; parkd has no such derived name,
//     so a presence_id given is used either way and the flag changes nothing.
//   - force_presence_user is in the web copy of Kazoo's schema only (it
//     forces the presence user to *3<slot>); parkd cannot derive that, so
//     only false is accepted and per-slot presence_id is the way to get it.
//   - The object may be written wrapped, {"data": {...}}, as Kazoo's docs
//     show it; a lone "data" key is unwrapped, and key paths keep "data.".

// kazooPresenceTypes are the presence types Kazoo's schema allows.
var kazooPresenceTypes = []string{PresenceEarly, PresenceConfirmed, PresenceTerminated}

// Kazoo key names.
var (
	kazooKeys = []string{
		"action", "custom_presence_id", "default_callback_timeout", "default_presence_type",
		"default_ringback_timeout", "force_presence_user", "max_slot_number", "presence_id",
		"skip_module", "slot", "slots",
	}
	kazooSlotKeys = []string{"callback_timeout", "presence_id", "presence_type", "ringback_timeout"}
)

// maxKazooSlot is the highest slot number a lot can have.
var maxKazooSlot = int(math.Pow10(maxSlotDigits)) - 1

// KazooPark is what a lot's kazoo: object means in parkd's terms. Empty
// fields are not set by the object.
type KazooPark struct {
	Action  string            // "" or park | direct_park | retrieve | auto: the lot's slot_action
	Slot    string            // Kazoo "slot": the static slot a park at the extension goes to ("" = none)
	MaxSlot int               // Kazoo max_slot_number (0 = not set): slots above it are not used
	Lot     Policy            // lot layer: recall_after, ring_parker_for, presence_type, presence_id
	Slots   map[string]Policy // slot layers, for slots whose entry sets something (nil = none)

	// Sources says where each native setting came from: native key ->
	// Kazoo key path, relative to the kazoo: object. Native keys are
	// "slot_action", the policy keys ("recall_after") and per slot
	// "slots.<n>.<policy key>"; for example "slots.100.recall_after" ->
	// "slots.100.ringback_timeout", or "data.slots.100.ringback_timeout"
	// when the object is wrapped. Nil when nothing is set.
	Sources map[string]string
}

// ParseKazoo maps a Kazoo park data object onto parkd's settings. inLot
// reports whether a slot name belongs to the lot (for the slots keys and
// "slot"); nil accepts every name. Errors are *PolicyError, in key order,
// whose Key is the Kazoo key path under path (path "lots[0].kazoo" gives
// "lots[0].kazoo.slots.100.ringback_timeout") and whose Msg gives ranges
// in Kazoo's units. The result holds only what passed.
func ParseKazoo(data map[string]any, path string, inLot func(slot string) bool) (KazooPark, []*PolicyError) {
	if inLot == nil {
		inLot = func(string) bool { return true }
	}
	k := &kazooParser{inLot: inLot}
	if inner, ok := data["data"]; ok && len(data) == 1 {
		path, k.rel = kazooJoin(path, "data"), "data"
		m, ok := inner.(map[string]any)
		if !ok {
			if inner != nil {
				k.fail(path, "must be the park callflow's data object, not %s", kazooDescribe(inner))
			}
			return k.out, k.errs
		}
		data = m
	}
	k.parse(data, path)
	return k.out, k.errs
}

type kazooParser struct {
	inLot func(string) bool
	rel   string // the Kazoo key path of the data object: "" or "data"
	out   KazooPark
	errs  []*PolicyError
}

func (k *kazooParser) fail(key, format string, args ...any) {
	k.errs = append(k.errs, &PolicyError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// source records that native key came from Kazoo key (relative to the
// data object).
func (k *kazooParser) source(native, key string) {
	if k.out.Sources == nil {
		k.out.Sources = map[string]string{}
	}
	if k.rel != "" {
		key = k.rel + "." + key
	}
	k.out.Sources[native] = key
}

func (k *kazooParser) parse(data map[string]any, path string) {
	for _, key := range slices.Sorted(maps.Keys(data)) {
		v, full := data[key], kazooJoin(path, key)
		if v == nil && slices.Contains(kazooKeys, key) {
			continue // null: not set
		}
		switch key {
		case "action":
			if s, ok := k.enum(full, v, slotActionValues); ok {
				k.out.Action = s
				k.source("slot_action", key)
			}
		case "slot":
			k.slot(full, v)
		case "max_slot_number":
			n, kind := kazooInteger(v)
			if kind != kazooWhole || n < 1 || n > int64(maxKazooSlot) {
				k.fail(full, "must be a whole number between 1 and %d (got %s)", maxKazooSlot, kazooText(v))
				continue
			}
			k.out.MaxSlot = int(n)
		case "default_ringback_timeout":
			k.out.Lot.RecallAfter = k.millis(full, v, MinRecallAfter, MaxRecallAfter)
			k.policySource(k.out.Lot.RecallAfter != nil, "", "recall_after", key)
		case "default_callback_timeout":
			k.out.Lot.RingParkerFor = k.millis(full, v, minRingFor, maxRingFor)
			k.policySource(k.out.Lot.RingParkerFor != nil, "", "ring_parker_for", key)
		case "default_presence_type":
			if s, ok := k.enum(full, v, kazooPresenceTypes); ok {
				k.out.Lot.PresenceType = &s
				k.source("presence_type", key)
			}
		case "presence_id":
			k.out.Lot.PresenceID = k.presenceID(full, v)
			k.policySource(k.out.Lot.PresenceID != nil, "", "presence_id", key)
		case "custom_presence_id":
			k.boolean(full, v)
		case "skip_module":
			if k.boolean(full, v) {
				k.fail(full, "true has no parkd equivalent (parkd has no callflow to skip to); remove it or set it to false")
			}
		case "force_presence_user":
			if k.boolean(full, v) {
				k.fail(full, `true has no parkd equivalent; set each slot's presence_id (such as "*3100") instead, or set it to false`)
			}
		case "slots":
			k.slots(full, v)
		default:
			msg := fmt.Sprintf("unknown key %q", key)
			if s := closestKey(key, kazooKeyIndex(kazooKeys)); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else if key == "data" {
				msg += " (a wrapping data object must be the only key)"
			}
			k.fail(full, "%s; a Kazoo park data object has %s", msg, strings.Join(kazooKeys, ", "))
		}
	}
}

// policySource records the source of a policy field when it was set;
// slot is "" for the lot layer.
func (k *kazooParser) policySource(set bool, slot, native, key string) {
	if !set {
		return
	}
	if slot != "" {
		prefix := kazooJoin("slots", slot)
		native, key = kazooJoin(prefix, native), kazooJoin(prefix, key)
	}
	k.source(native, key)
}

// slot reads the static slot: a string as Kazoo's schema has it, or an
// integer, which a JSON or YAML writer may well produce.
func (k *kazooParser) slot(full string, v any) {
	var name string
	switch x := v.(type) {
	case string:
		name = x
	default:
		n, kind := kazooInteger(v)
		if kind != kazooWhole || n < 0 {
			k.fail(full, `must be a slot number like "100", not %s`, kazooDescribe(v))
			return
		}
		name = strconv.FormatInt(n, 10)
	}
	if name == "" {
		return // Kazoo reads "" as not set
	}
	if !k.inLot(name) {
		k.fail(full, "%s is not a slot of this lot", kazooQuote(name))
		return
	}
	k.out.Slot = name
}

// slots reads the per-slot settings.
func (k *kazooParser) slots(full string, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		k.fail(full, "must be an object keyed by slot number, not %s", kazooDescribe(v))
		return
	}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		key := kazooJoin(full, name)
		inLot := k.inLot(name)
		if !inLot {
			k.fail(key, "%s is not a slot of this lot", kazooQuote(name))
		}
		var p Policy
		switch entry := m[name].(type) {
		case nil: // null: nothing set
		case map[string]any:
			p = k.slotEntry(key, name, entry, inLot)
		default:
			k.fail(key, "must be an object of %s, not %s", strings.Join(kazooSlotKeys, ", "), kazooDescribe(entry))
		}
		if inLot && !p.IsZero() {
			if k.out.Slots == nil {
				k.out.Slots = map[string]Policy{}
			}
			k.out.Slots[name] = p
		}
	}
}

// slotEntry reads one slot's settings; record is false for a slot outside
// the lot, whose values are still checked but leave no sources.
func (k *kazooParser) slotEntry(path, slot string, entry map[string]any, record bool) Policy {
	var p Policy
	src := func(set bool, native, key string) {
		if record {
			k.policySource(set, slot, native, key)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(entry)) {
		v, full := entry[key], kazooJoin(path, key)
		if v == nil && slices.Contains(kazooSlotKeys, key) {
			continue
		}
		switch key {
		case "ringback_timeout":
			p.RecallAfter = k.millis(full, v, MinRecallAfter, MaxRecallAfter)
			src(p.RecallAfter != nil, "recall_after", key)
		case "callback_timeout":
			p.RingParkerFor = k.millis(full, v, minRingFor, maxRingFor)
			src(p.RingParkerFor != nil, "ring_parker_for", key)
		case "presence_type":
			if s, ok := k.enum(full, v, kazooPresenceTypes); ok {
				p.PresenceType = &s
				src(true, "presence_type", key)
			}
		case "presence_id":
			p.PresenceID = k.presenceID(full, v)
			src(p.PresenceID != nil, "presence_id", key)
		default:
			msg := fmt.Sprintf("unknown key %q", key)
			if s := closestKey(key, kazooKeyIndex(kazooSlotKeys)); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			k.fail(full, "%s; a slot entry has %s", msg, strings.Join(kazooSlotKeys, ", "))
		}
	}
	return p
}

// millis reads a Kazoo timeout, an integer of milliseconds, and checks it
// against parkd's native range for the setting. Nil when not valid.
func (k *kazooParser) millis(full string, v any, lo, hi time.Duration) *Duration {
	n, kind := kazooInteger(v)
	switch {
	case kind == kazooNotNumber:
		k.fail(full, "must be a whole number of milliseconds, not %s", kazooDescribe(v))
	case kind == kazooFraction:
		k.fail(full, "must be a whole number of milliseconds (got %s)", kazooText(v))
	case kind == kazooHuge || n < lo.Milliseconds() || n > hi.Milliseconds():
		k.fail(full, "must be between %d and %d ms (got %s)", lo.Milliseconds(), hi.Milliseconds(), kazooText(v))
	default:
		return ptr(Duration(time.Duration(n) * time.Millisecond))
	}
	return nil
}

// enum reads a string from allowed; "" is not set.
func (k *kazooParser) enum(full string, v any, allowed []string) (string, bool) {
	s, ok := v.(string)
	switch {
	case !ok:
		k.fail(full, "must be one of %s, not %s", strings.Join(allowed, ", "), kazooDescribe(v))
	case s == "":
	case !slices.Contains(allowed, s):
		k.fail(full, "must be one of %s (got %s)", strings.Join(allowed, ", "), kazooQuote(s))
	default:
		return s, true
	}
	return "", false
}

// presenceID reads a presence_id; "" is not set (Kazoo then falls back).
func (k *kazooParser) presenceID(full string, v any) *string {
	s, ok := v.(string)
	if !ok {
		k.fail(full, "must be a string such as \"100@pbx.example.com\", not %s", kazooDescribe(v))
		return nil
	}
	if s == "" {
		return nil
	}
	if err := CheckText(s); err != nil {
		k.fail(full, "%v", err)
		return nil
	}
	return &s
}

// boolean reads a flag; a non-boolean is reported and counts as false.
func (k *kazooParser) boolean(full string, v any) bool {
	b, ok := v.(bool)
	if !ok {
		k.fail(full, "must be true or false, not %s", kazooDescribe(v))
	}
	return b
}

// What kazooInteger found.
const (
	kazooWhole     = iota // an integer that fits an int64
	kazooNotNumber        // not a number at all
	kazooFraction         // a number with a fraction (or NaN, ±Inf)
	kazooHuge             // a whole number beyond int64
)

// kazooInteger reads a JSON integer as the decoders deliver it: int, int64
// or uint64 from YAML, float64 from encoding/json.
func kazooInteger(v any) (int64, int) {
	switch x := v.(type) {
	case int:
		return int64(x), kazooWhole
	case int64:
		return x, kazooWhole
	case uint64:
		if x > math.MaxInt64 {
			return 0, kazooHuge
		}
		return int64(x), kazooWhole
	case float64:
		switch {
		case x != math.Trunc(x) || math.IsNaN(x) || math.IsInf(x, 0):
			return 0, kazooFraction
		case x < math.MinInt64 || x >= math.MaxInt64: // 2^63 is not an int64
			return 0, kazooHuge
		}
		return int64(x), kazooWhole
	}
	return 0, kazooNotNumber
}

// kazooText shows a value in an error the way JSON would write it.
func kazooText(v any) string {
	switch x := v.(type) {
	case string:
		return kazooQuote(x)
	case float64:
		if a := math.Abs(x); a != 0 && (a < 1e-6 || a >= 1e21) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int, int64, uint64, bool:
		return fmt.Sprint(x)
	case nil:
		return "null"
	}
	return kazooDescribe(v)
}

// kazooDescribe names a value's JSON type, with scalars shown.
func kazooDescribe(v any) string {
	switch v.(type) {
	case string:
		return "a string (" + kazooText(v) + ")"
	case int, int64, uint64, float64:
		return "a number (" + kazooText(v) + ")"
	case bool:
		return "a boolean (" + kazooText(v) + ")"
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("a %T", v)
}

// kazooQuote quotes a string for an error, cut short when long.
func kazooQuote(s string) string {
	if len(s) > 40 {
		return strconv.Quote(s[:40]) + "…"
	}
	return strconv.Quote(s)
}

// kazooJoin adds a key to a path as mapKey does; an empty path gives the
// bare key.
func kazooJoin(path, key string) string {
	if path == "" {
		return strings.TrimPrefix(mapKey("", key), ".")
	}
	return mapKey(path, key)
}

func kazooKeyIndex(keys []string) map[string]int {
	m := make(map[string]int, len(keys))
	for i, key := range keys {
		m[key] = i
	}
	return m
}
