package config

import (
	"fmt"
	"reflect"
	"strings"
)

// Policy layers, lowest first: what each effective value can come from.
const (
	LayerBuiltin  = "builtin"
	LayerDefaults = "defaults"
	LayerLot      = "lot"
	LayerSlot     = "slot"
	LayerOverride = "override"
)

// PolicySource is where one effective value came from: the layer and the
// key that set it, such as "lots[0].kazoo.default_ringback_timeout" or
// "override slot/701".
type PolicySource struct {
	Layer string `json:"layer"`
	Key   string `json:"key"`
}

// EffectivePolicy is a slot's merged policy with the source of each field,
// keyed by the field's config name (recall_after, ring_group, …).
type EffectivePolicy struct {
	Lot     string                  `json:"lot"`
	Slot    string                  `json:"slot"`
	Policy  Policy                  `json:"policy"`
	Sources map[string]PolicySource `json:"sources"`
}

// PolicyLayer is one layer of a slot's stack, as LayersWith and
// WithOverrides build it and Merge flattens it.
type PolicyLayer struct {
	layer  string
	key    string            // where it is written: "defaults", "lots[0].policy", "override lot/main"
	policy Policy            //
	keys   map[string]string // per-field key when it differs from key.field (Kazoo's names)
}

// Override scopes: live overrides sit on top of the config, per scope.
const (
	ScopeDefaults = "defaults"
	scopeLot      = "lot/"
	scopeSlot     = "slot/"
)

// LotScope and SlotScope name the override scope of a lot or a slot.
func LotScope(name string) string  { return scopeLot + name }
func SlotScope(name string) string { return scopeSlot + name }

// configLayers is a slot's stack from the config file alone: built-in,
// defaults, the lot (its kazoo: object under its policy:), the slot (kazoo
// slots under slot_policies). lot < 0 stops after defaults.
func (c Config) configLayers(lot int, slot string) []PolicyLayer {
	var kz KazooPark
	if lot >= 0 && lot < len(c.Lots) {
		kz = c.Lots[lot].MappedKazoo(LotKey(lot))
	}
	return c.LayersWith(lot, slot, kz)
}

// LayersWith is configLayers with the lot's Kazoo object already mapped,
// so the daemon maps it once at start rather than on every park.
func (c Config) LayersWith(lot int, slot string, kz KazooPark) []PolicyLayer {
	layers := []PolicyLayer{
		{layer: LayerBuiltin, key: "builtin", policy: BuiltinPolicy()},
		{layer: LayerDefaults, key: "defaults", policy: c.Defaults},
	}
	if lot < 0 || lot >= len(c.Lots) {
		return layers
	}
	l := c.Lots[lot]
	key := LotKey(lot)
	layers = append(layers,
		PolicyLayer{layer: LayerLot, key: key + ".kazoo", policy: kz.Lot, keys: kz.sourcesUnder("")},
		PolicyLayer{layer: LayerLot, key: key + ".policy", policy: l.Policy},
	)
	if slot == "" {
		return layers
	}
	if sp, ok := kz.Slots[slot]; ok {
		layers = append(layers, PolicyLayer{layer: LayerSlot, key: key + ".kazoo", policy: sp, keys: kz.sourcesUnder("slots." + slot + ".")})
	}
	if sp, ok := l.SlotPolicies[slot]; ok {
		layers = append(layers, PolicyLayer{layer: LayerSlot, key: mapKey(key+".slot_policies", slot), policy: sp})
	}
	return layers
}

// sourcesUnder picks the Kazoo provenance of one layer: prefix "" for the
// lot's own keys, "slots.N." for a slot's.
func (k KazooPark) sourcesUnder(prefix string) map[string]string {
	out := map[string]string{}
	for native, kazoo := range k.Sources {
		rest, ok := strings.CutPrefix(native, prefix)
		if !ok || (prefix == "" && strings.HasPrefix(native, "slots.")) {
			continue
		}
		out[rest] = kazoo
	}
	return out
}

// WithOverrides puts the live overrides of a slot on top of its stack:
// defaults, then its lot, then the slot itself.
func WithOverrides(layers []PolicyLayer, overrides map[string]Policy, lot, slot string) []PolicyLayer {
	for _, scope := range []string{ScopeDefaults, LotScope(lot), SlotScope(slot)} {
		if p, ok := overrides[scope]; ok {
			layers = append(layers, PolicyLayer{layer: LayerOverride, key: "override " + scope, policy: p})
		}
	}
	return layers
}

// Merge flattens a stack, remembering which layer set each field.
func Merge(layers []PolicyLayer) (Policy, map[string]PolicySource) {
	var p Policy
	sources := map[string]PolicySource{}
	for _, l := range layers {
		p = l.policy.Over(p)
		for _, field := range l.policy.setFields() {
			key := l.key + "." + field
			if k, ok := l.keys[field]; ok {
				key = l.key + "." + k
			}
			if strings.HasPrefix(l.key, "override ") || l.layer == LayerBuiltin {
				key = l.key
			}
			sources[field] = PolicySource{Layer: l.layer, Key: key}
		}
	}
	return p, sources
}

// setFields lists the config names of the fields set at this layer.
func (p Policy) setFields() []string {
	v := reflect.ValueOf(p)
	t := v.Type()
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if !v.Field(i).IsNil() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			out = append(out, name)
		}
	}
	return out
}

// CheckScope says whether an override scope names something that exists.
func (c Config) CheckScope(scope string) error {
	if scope == ScopeDefaults {
		return nil
	}
	if name, ok := strings.CutPrefix(scope, scopeLot); ok {
		for _, l := range c.Lots {
			if l.Name == name {
				return nil
			}
		}
		return fmt.Errorf("no lot %q", name)
	}
	if name, ok := strings.CutPrefix(scope, scopeSlot); ok {
		for _, l := range c.Lots {
			if l.hasSlot(name) {
				return nil
			}
		}
		return fmt.Errorf("no slot %q", name)
	}
	return fmt.Errorf("scope %q must be %q, %q or %q", scope, ScopeDefaults, scopeLot+"NAME", scopeSlot+"NUMBER")
}

// EffectivePolicy is the merged policy of a slot of lot i (slot "" for
// the lot itself) from the config file: built-in < defaults < lot (its
// kazoo: object under its policy:) < slot. Live overrides go on top in the
// Server.
func (c Config) EffectivePolicy(lot int, slot string) Policy {
	p, _ := Merge(c.configLayers(lot, slot))
	return p
}
