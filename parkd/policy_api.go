package parkd

import (
	"context"
	"reflect"
	"strings"

	"github.com/parkd/parkd/parkd/config"
)

// API policy scopes: "defaults", "lots/NAME", "slots/NUMBER". They name
// the same layers as the override scopes (ScopeDefaults, LotScope,
// SlotScope) in the API's plural path form.
const (
	apiScopeLots  = "lots/"
	apiScopeSlots = "slots/"
)

// overrideScopeLocked turns an API scope into the override scope and the
// lot and slot whose effective policy it shows. Callers hold s.mu.
func (s *Server) overrideScopeLocked(scope string) (override string, l *lot, slot string, err error) {
	if scope == ScopeDefaults {
		return ScopeDefaults, nil, "", nil
	}
	if name, ok := strings.CutPrefix(scope, apiScopeLots); ok {
		if l = s.byLot[name]; l == nil {
			return "", nil, "", errorf(CodeNoSuchLot, "no lot %q", name)
		}
		return LotScope(name), l, "", nil
	}
	if name, ok := strings.CutPrefix(scope, apiScopeSlots); ok {
		sl := s.bySlot[name]
		if sl == nil {
			return "", nil, "", errorf(CodeNoSuchSlot, "no slot %q", name)
		}
		return SlotScope(name), sl.lot, name, nil
	}
	return "", nil, "", fieldError("scope", "%q is not defaults, lots/NAME or slots/NUMBER", scope)
}

// Policy is a scope's effective policy, with sources, and its live
// override (Client.Policy).
func (s *Server) Policy(ctx context.Context, scope string) (PolicyView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	override, l, slot, err := s.overrideScopeLocked(scope)
	if err != nil {
		return PolicyView{}, err
	}
	var eff Policy
	var sources map[string]PolicySource
	if l == nil {
		eff, sources = config.Merge(config.WithOverrides(s.config().LayersWith(-1, "", KazooPark{}), s.overrides, "", ""))
	} else {
		eff, sources = s.merged(l, slot, s.overrides)
	}
	return PolicyView{Scope: scope, Effective: eff, Sources: sources, Override: s.overrides[override].Clone()}, nil
}

// PatchPolicy sets and clears fields of a scope's live override, with
// the config file's ranges and messages (Client.PatchPolicy).
func (s *Server) PatchPolicy(ctx context.Context, scope string, patch PolicyPatch) (PolicyView, error) {
	if err := s.patchPolicy(ctx, scope, patch); err != nil {
		return PolicyView{}, err
	}
	return s.Policy(ctx, scope)
}

// patchPolicy reads the override and writes it back under policyMu: two
// patches of different keys at once must both land.
func (s *Server) patchPolicy(ctx context.Context, scope string, patch PolicyPatch) error {
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	s.mu.Lock()
	override, _, _, err := s.overrideScopeLocked(scope)
	current := s.overrides[override].Clone()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for _, key := range patch.Clear {
		if !clearField(&current, key) {
			return fieldError(key, "%q is not a policy key", key)
		}
	}
	if err := s.setPolicyHeld(ctx, override, patch.Set.Clone().Over(current)); err != nil {
		return asAPIError(err, "")
	}
	return nil
}

// ClearPolicy removes a scope's live override (Client.ClearPolicy).
func (s *Server) ClearPolicy(ctx context.Context, scope string) (PolicyView, error) {
	s.mu.Lock()
	override, _, _, err := s.overrideScopeLocked(scope)
	s.mu.Unlock()
	if err != nil {
		return PolicyView{}, err
	}
	if err := s.SetPolicy(ctx, override, Policy{}); err != nil {
		return PolicyView{}, asAPIError(err, "")
	}
	return s.Policy(ctx, scope)
}

// clearField unsets the field whose config name is key; false when no
// field has that name.
func clearField(p *Policy, key string) bool {
	v := reflect.ValueOf(p).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name == key {
			v.Field(i).SetZero()
			return true
		}
	}
	return false
}
