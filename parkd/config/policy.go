package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Recall policy values. They are part of the config file contract, so they
// are spelled out once here and used by the validator and the daemon alike.
const (
	RecallParkerOnly      = "parker_only"
	RecallParkerThenGroup = "parker_then_group"
	RecallGroupOnly       = "group_only"

	FailureRepark  = "repark"
	FailureHangup  = "hangup"
	FailureForward = "forward"

	PresenceEarly      = "early"
	PresenceConfirmed  = "confirmed"
	PresenceTerminated = "terminated" // Kazoo's: an occupied slot's key stays dark
)

// Policy ranges, from the reference systems' limits loosened to what is
// still sensible: 5 s is the Kazoo docs' own example ringback, and later
// than an hour nobody is waiting.
const (
	MinRecallAfter = 5 * time.Second
	MaxRecallAfter = time.Hour
	minRingFor     = 5 * time.Second
	maxRingFor     = 10 * time.Minute
	maxMaxRecalls  = 20
)

var (
	recallToValues     = []string{RecallParkerOnly, RecallParkerThenGroup, RecallGroupOnly}
	onFailureValues    = []string{FailureRepark, FailureHangup, FailureForward}
	presenceTypeValues = []string{PresenceEarly, PresenceConfirmed, PresenceTerminated}
)

// Policy is one layer of recall settings. Every field is a pointer (and
// RingGroup a slice) so that layers — defaults < lot < slot < live override —
// can be merged with Over: nil means "not set at this layer, inherit".
// A non-nil empty RingGroup is set: it clears an inherited group.
type Policy struct {
	RecallAfter   *Duration `yaml:"recall_after" json:"recall_after,omitempty"`
	RingParkerFor *Duration `yaml:"ring_parker_for" json:"ring_parker_for,omitempty"`
	RecallTo      *string   `yaml:"recall_to" json:"recall_to,omitempty"` // parker_only | parker_then_group | group_only
	RingGroup     []string  `yaml:"ring_group" json:"ring_group"`         // SIP URIs rung together (nil = not set)
	RingGroupFor  *Duration `yaml:"ring_group_for" json:"ring_group_for,omitempty"`
	OnFailure     *string   `yaml:"on_failure" json:"on_failure,omitempty"` // repark | hangup | forward
	ForwardTo     *string   `yaml:"forward_to" json:"forward_to,omitempty"` // SIP URI for on_failure: forward
	MaxRecalls    *int      `yaml:"max_recalls" json:"max_recalls,omitempty"`
	PresenceType  *string   `yaml:"presence_type" json:"presence_type,omitempty"` // early | confirmed
	PresenceID    *string   `yaml:"presence_id" json:"presence_id,omitempty"`
	MOH           *string   `yaml:"moh" json:"moh,omitempty"` // "" = the global moh
}

// BuiltinPolicy is the bottom layer: every field set, to the values of
// docs/CONFIG.md "defaults". Each call returns fresh pointers, so callers (and the
// YAML decoder) may modify the result without touching anyone else's copy.
func BuiltinPolicy() Policy {
	return Policy{
		RecallAfter:   ptr(Duration(45 * time.Second)),
		RingParkerFor: ptr(Duration(30 * time.Second)),
		RecallTo:      ptr(RecallParkerThenGroup),
		RingGroup:     []string{},
		RingGroupFor:  ptr(Duration(30 * time.Second)),
		OnFailure:     ptr(FailureRepark),
		ForwardTo:     ptr(""),
		MaxRecalls:    ptr(3),
		PresenceType:  ptr(PresenceEarly),
		PresenceID:    ptr(""),
		MOH:           ptr(""),
	}
}

func ptr[T any](v T) *T { return &v }

// clonePtr copies the pointee so merged policies never alias their inputs:
// a live override edited in place must not leak into the layer below.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	return ptr(*p)
}

// Clone returns a deep copy of p.
func (p Policy) Clone() Policy {
	return Policy{
		RecallAfter:   clonePtr(p.RecallAfter),
		RingParkerFor: clonePtr(p.RingParkerFor),
		RecallTo:      clonePtr(p.RecallTo),
		RingGroup:     slices.Clone(p.RingGroup), // keeps nil vs empty
		RingGroupFor:  clonePtr(p.RingGroupFor),
		OnFailure:     clonePtr(p.OnFailure),
		ForwardTo:     clonePtr(p.ForwardTo),
		MaxRecalls:    clonePtr(p.MaxRecalls),
		PresenceType:  clonePtr(p.PresenceType),
		PresenceID:    clonePtr(p.PresenceID),
		MOH:           clonePtr(p.MOH),
	}
}

// pick returns over when it is set, else base.
func pick[T any](over, base *T) *T {
	if over != nil {
		return over
	}
	return base
}

// Over merges p on top of base: fields set in p win, the rest come from
// base. The result shares no memory with either.
func (p Policy) Over(base Policy) Policy {
	ring := base.RingGroup
	if p.RingGroup != nil {
		ring = p.RingGroup
	}
	return Policy{
		RecallAfter:   pick(p.RecallAfter, base.RecallAfter),
		RingParkerFor: pick(p.RingParkerFor, base.RingParkerFor),
		RecallTo:      pick(p.RecallTo, base.RecallTo),
		RingGroup:     ring,
		RingGroupFor:  pick(p.RingGroupFor, base.RingGroupFor),
		OnFailure:     pick(p.OnFailure, base.OnFailure),
		ForwardTo:     pick(p.ForwardTo, base.ForwardTo),
		MaxRecalls:    pick(p.MaxRecalls, base.MaxRecalls),
		PresenceType:  pick(p.PresenceType, base.PresenceType),
		PresenceID:    pick(p.PresenceID, base.PresenceID),
		MOH:           pick(p.MOH, base.MOH),
	}.Clone()
}

// IsZero reports whether no field is set at this layer.
func (p Policy) IsZero() bool {
	return p.RecallAfter == nil && p.RingParkerFor == nil && p.RecallTo == nil &&
		p.RingGroup == nil && p.RingGroupFor == nil && p.OnFailure == nil &&
		p.ForwardTo == nil && p.MaxRecalls == nil && p.PresenceType == nil &&
		p.PresenceID == nil && p.MOH == nil
}

// PolicyError is a bad policy field. Key is the full key path, such as
// "lots[0].policy.recall_after". It carries no "config:" prefix because
// policies also arrive as live overrides through the API.
type PolicyError struct {
	Key string
	Msg string
}

func (e *PolicyError) Error() string { return e.Key + ": " + e.Msg }

// Validate checks the fields set at this layer: ranges, enums and URIs.
// path prefixes every key in errors ("lots[0].policy" gives
// "lots[0].policy.recall_after: …"); "" names bare keys. A layer cannot
// know what it inherits, so forward_to is only required here when this
// layer sets both on_failure: forward and an empty forward_to; validate the
// merged policy (p.Over(base)) to check the whole is complete.
func (p Policy) Validate(path string) error {
	if errs := p.problems(path, 1); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// problems returns up to max errors in field order (max <= 0: all).
func (p Policy) problems(path string, max int) []*PolicyError {
	var errs []*PolicyError
	add := func(key, format string, args ...any) {
		if max <= 0 || len(errs) < max {
			errs = append(errs, &PolicyError{Key: JoinKey(path, key), Msg: fmt.Sprintf(format, args...)})
		}
	}
	checkRange(add, "recall_after", p.RecallAfter, MinRecallAfter, MaxRecallAfter)
	checkRange(add, "ring_parker_for", p.RingParkerFor, minRingFor, maxRingFor)
	checkEnum(add, "recall_to", p.RecallTo, recallToValues)
	for i, u := range p.RingGroup {
		if err := CheckSIPURI(u); err != nil {
			add(fmt.Sprintf("ring_group[%d]", i), "%v", err)
		}
	}
	checkRange(add, "ring_group_for", p.RingGroupFor, minRingFor, maxRingFor)
	checkEnum(add, "on_failure", p.OnFailure, onFailureValues)
	p.checkForward(add)
	if p.MaxRecalls != nil && (*p.MaxRecalls < 0 || *p.MaxRecalls > maxMaxRecalls) {
		add("max_recalls", "must be between 0 and %d (got %d)", maxMaxRecalls, *p.MaxRecalls)
	}
	checkEnum(add, "presence_type", p.PresenceType, presenceTypeValues)
	if p.PresenceID != nil {
		if err := CheckText(*p.PresenceID); err != nil {
			add("presence_id", "%v", err)
		}
	}
	if p.MOH != nil {
		if err := CheckText(*p.MOH); err != nil {
			add("moh", "%v", err)
		}
	}
	return errs
}

type addFunc func(key, format string, args ...any)

// checkForward: a forward target must be a SIP URI, and on_failure: forward
// needs one — when both are known at this layer.
func (p Policy) checkForward(add addFunc) {
	if p.ForwardTo == nil {
		return
	}
	if *p.ForwardTo == "" {
		if p.OnFailure != nil && *p.OnFailure == FailureForward {
			add("forward_to", "required when on_failure is forward (a sip: URI)")
		}
		return
	}
	if err := CheckSIPURI(*p.ForwardTo); err != nil {
		add("forward_to", "%v", err)
	}
}

// Incomplete checks what only the merged policy can tell: on_failure:
// forward needs a forward_to, group_only needs a ring group. Only fields
// this layer sets are blamed, so each mistake is reported once, where it
// was made.
func (merged Policy) Incomplete(path string, layer Policy) []*PolicyError {
	var errs []*PolicyError
	if (layer.OnFailure != nil || layer.ForwardTo != nil) &&
		merged.OnFailure != nil && *merged.OnFailure == FailureForward && (merged.ForwardTo == nil || *merged.ForwardTo == "") {
		errs = append(errs, &PolicyError{Key: JoinKey(path, "forward_to"), Msg: "required when on_failure is forward (a sip: URI)"})
	}
	if (layer.RecallTo != nil || layer.RingGroup != nil) &&
		merged.RecallTo != nil && *merged.RecallTo == RecallGroupOnly && len(merged.RingGroup) == 0 {
		errs = append(errs, &PolicyError{Key: JoinKey(path, "ring_group"), Msg: "required when recall_to is group_only (a list of sip: URIs)"})
	}
	return errs
}

func checkRange(add addFunc, key string, d *Duration, lo, hi time.Duration) {
	if d != nil && (d.D() < lo || d.D() > hi) {
		add(key, "must be between %s and %s (got %s)", Duration(lo), Duration(hi), *d)
	}
}

func checkEnum(add addFunc, key string, v *string, allowed []string) {
	if v != nil && !slices.Contains(allowed, *v) {
		add(key, "must be one of %s (got %q)", strings.Join(allowed, ", "), *v)
	}
}

// MarshalYAML writes only the fields set at this layer, so a policy read
// back means the same: an absent key inherits, `ring_group: []` clears.
// (A plain struct encoding would turn a nil RingGroup into [].)
func (p Policy) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	fields := []struct {
		key string
		set bool
		val any
	}{
		{"recall_after", p.RecallAfter != nil, p.RecallAfter},
		{"ring_parker_for", p.RingParkerFor != nil, p.RingParkerFor},
		{"recall_to", p.RecallTo != nil, p.RecallTo},
		{"ring_group", p.RingGroup != nil, p.RingGroup},
		{"ring_group_for", p.RingGroupFor != nil, p.RingGroupFor},
		{"on_failure", p.OnFailure != nil, p.OnFailure},
		{"forward_to", p.ForwardTo != nil, p.ForwardTo},
		{"max_recalls", p.MaxRecalls != nil, p.MaxRecalls},
		{"presence_type", p.PresenceType != nil, p.PresenceType},
		{"presence_id", p.PresenceID != nil, p.PresenceID},
		{"moh", p.MOH != nil, p.MOH},
	}
	for _, f := range fields {
		if !f.set {
			continue
		}
		var v yaml.Node
		if err := v.Encode(f.val); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.key}, &v)
	}
	return n, nil
}
