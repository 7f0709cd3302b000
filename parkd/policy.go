package parkd

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/parkd/parkd/parkd/config"
	"github.com/parkd/parkd/parkd/store"
)

// policyLocked is a slot's effective policy, live overrides included.
// Callers hold s.mu and only read it: its pointers are shared with the
// slot's cached copy.
func (s *Server) policyLocked(sl *slot) Policy {
	if sl.policyGen != s.policyGen+1 {
		sl.policy = s.policyWith(sl, s.overrides)
		sl.policyGen = s.policyGen + 1 // 0 is "never merged"
	}
	return sl.policy
}

// policyWith is a slot's effective policy under a given set of overrides.
func (s *Server) policyWith(sl *slot, overrides map[string]Policy) Policy {
	p, _ := s.merged(sl.lot, sl.name, overrides)
	return p
}

// merged is a slot's policy stack flattened, with each value's source.
func (s *Server) merged(l *lot, slot string, overrides map[string]Policy) (Policy, map[string]PolicySource) {
	return config.Merge(config.WithOverrides(l.conf.LayersWith(l.index, slot, l.kazoo), overrides, l.cfg.Name, slot))
}

// configuredPolicy is the effective policy of a slot, for newBLF; the
// overrides have been loaded by then. Callers hold s.mu (or own s alone).
func (s *Server) configuredPolicy(l *lot, slot string) Policy {
	p, _ := s.merged(l, slot, s.overrides)
	return p
}

// SlotPolicy is a slot's effective recall policy with where each value came from.
func (s *Server) SlotPolicy(slot string) (EffectivePolicy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sl, ok := s.bySlot[slot]
	if !ok {
		return EffectivePolicy{}, fmt.Errorf("no slot %q", slot)
	}
	p, sources := s.merged(sl.lot, sl.name, s.overrides)
	return EffectivePolicy{Lot: sl.lot.cfg.Name, Slot: sl.name, Policy: p, Sources: sources}, nil
}

// Overrides lists the live policy overrides by scope.
func (s *Server) Overrides() map[string]Policy {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Policy, len(s.overrides))
	for k, v := range s.overrides {
		out[k] = v.Clone()
	}
	return out
}

// SetPolicy replaces the live override at scope ("defaults", LotScope(name)
// or SlotScope(number)); a zero Policy removes it. The override is checked
// against every slot it reaches, written to the store, then applied: each
// slot whose effective policy changed gets an EventPolicy. A recall
// already counting down keeps its timer; the next one uses the new policy.
func (s *Server) SetPolicy(ctx context.Context, scope string, p Policy) error {
	// One SetPolicy at a time, and the disk write outside s.mu: calls keep
	// parking and recalling while SQLite commits.
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	return s.setPolicyHeld(ctx, scope, p)
}

// setPolicyHeld is SetPolicy for a caller that holds policyMu, so that a
// read-modify-write (PatchPolicy) cannot interleave with another one.
func (s *Server) setPolicyHeld(ctx context.Context, scope string, p Policy) error {
	if err := s.checkOverride(scope, p); err != nil {
		return err
	}
	p = p.Clone()
	s.mu.Lock()
	next := maps.Clone(s.overrides)
	s.mu.Unlock()
	if p.IsZero() {
		delete(next, scope)
	} else {
		next[scope] = p
	}
	for _, sl := range s.allSlots() {
		after := s.policyWith(sl, next)
		if errs := after.Incomplete("", p); len(errs) > 0 {
			return fmt.Errorf("slot %s: %w", sl.name, errs[0])
		}
	}
	if err := s.saveOverride(ctx, scope, p); err != nil {
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.overrides
	s.overrides = next
	s.policyGen++
	changed := 0
	for _, sl := range s.allSlots() {
		if after := s.policyWith(sl, next); !policyEqual(s.policyWith(sl, prev), after) {
			s.emitPolicy(sl, &after)
			changed++
		}
	}
	s.log.Info("policy override set", "scope", scope, "slots_changed", changed)
	return nil
}

// allSlots lists every slot in lot and number order. Callers hold
// policyMu, which Apply takes too, so no reload changes the lots (or a
// slot's lot) meanwhile.
func (s *Server) allSlots() []*slot {
	var out []*slot
	for _, l := range s.lots {
		out = append(out, l.slots...)
	}
	return out
}

// checkOverride is what any override must pass, set live or restored from
// the store: a scope that exists, values in range, no presence_id.
func (s *Server) checkOverride(scope string, p Policy) error {
	if err := s.config().CheckScope(scope); err != nil {
		// A reload may have removed the lot or slot an override names:
		// clearing it must still work.
		s.mu.Lock()
		_, stale := s.overrides[scope]
		s.mu.Unlock()
		if !stale || !p.IsZero() {
			return err
		}
	}
	if err := p.Validate(""); err != nil {
		return err
	}
	if p.PresenceID != nil {
		return &PolicyError{Key: "presence_id", Msg: "cannot be changed by an override (BLF resources follow the config file); set it in the config file and reload"}
	}
	return nil
}

func policyEqual(a, b Policy) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// saveOverride writes one override (or its removal) to the store; without
// a store the override lasts until parkd stops.
func (s *Server) saveOverride(ctx context.Context, scope string, p Policy) error {
	if s.store == nil {
		return nil
	}
	if p.IsZero() {
		return s.store.DeleteOverride(ctx, scope)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.store.PutOverride(ctx, store.Override{Scope: scope, Policy: body, UpdatedAt: s.clock.Now()})
}

// loadOverrides reads the stored overrides at start. One that no longer
// fits the config (its lot or slot is gone, a value out of range) is
// skipped with a warning rather than keeping parkd from starting.
func (s *Server) loadOverrides(ctx context.Context) error {
	stored, err := s.store.Overrides(ctx)
	if err != nil {
		return err
	}
	for _, o := range stored {
		var p Policy
		err := json.Unmarshal(o.Policy, &p)
		if err == nil {
			err = s.checkOverride(o.Scope, p)
		}
		if err != nil {
			s.log.Warn("stored policy override ignored", "scope", o.Scope, "error", err)
			continue
		}
		s.overrides[o.Scope] = p
		s.policyGen++
	}
	if len(s.overrides) > 0 {
		s.log.Info("policy overrides restored", "count", len(s.overrides))
	}
	return nil
}
