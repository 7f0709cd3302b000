package tui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parkd/parkd/parkd"
)

// policyField is one recall policy setting as the console shows and
// edits it. The detail pane and the form share this table, so they list
// the same settings in the same order with the same words.
type policyField struct {
	key   string // the config and API name
	label string
	kind  fieldKind
	// lo and hi bound durations; ints use ilo and ihi.
	lo, hi   time.Duration
	ilo, ihi int
	options  []string // enums
	hint     string   // what to type, when the input is empty
	get      func(p parkd.Policy) (string, bool)
	set      func(p *parkd.Policy, v string)
}

type fieldKind int

const (
	kindDuration fieldKind = iota
	kindEnum
	kindInt
	kindURI
	kindURIList
)

func durGet(f func(parkd.Policy) *parkd.Duration) func(parkd.Policy) (string, bool) {
	return func(p parkd.Policy) (string, bool) {
		if d := f(p); d != nil {
			return d.String(), true
		}
		return "", false
	}
}

func strGet(f func(parkd.Policy) *string) func(parkd.Policy) (string, bool) {
	return func(p parkd.Policy) (string, bool) {
		if s := f(p); s != nil {
			return *s, true
		}
		return "", false
	}
}

func durPtr(v string) *parkd.Duration {
	d, _ := time.ParseDuration(v)
	pd := parkd.Duration(d)
	return &pd
}

var policyFields = []policyField{
	{key: "recall_after", label: "recall after", kind: kindDuration, lo: 5 * time.Second, hi: time.Hour, hint: "e.g. 45s, 2m",
		get: durGet(func(p parkd.Policy) *parkd.Duration { return p.RecallAfter }),
		set: func(p *parkd.Policy, v string) { p.RecallAfter = durPtr(v) }},
	{key: "ring_parker_for", label: "ring parker for", kind: kindDuration, lo: 5 * time.Second, hi: 10 * time.Minute, hint: "e.g. 30s",
		get: durGet(func(p parkd.Policy) *parkd.Duration { return p.RingParkerFor }),
		set: func(p *parkd.Policy, v string) { p.RingParkerFor = durPtr(v) }},
	{key: "recall_to", label: "recall to", kind: kindEnum, options: []string{parkd.RecallParkerOnly, parkd.RecallParkerThenGroup, parkd.RecallGroupOnly},
		get: strGet(func(p parkd.Policy) *string { return p.RecallTo }),
		set: func(p *parkd.Policy, v string) { p.RecallTo = &v }},
	{key: "ring_group", label: "ring group", kind: kindURIList, hint: "sip: URIs, comma-separated; none = no group",
		get: func(p parkd.Policy) (string, bool) {
			if p.RingGroup == nil {
				return "", false
			}
			if len(p.RingGroup) == 0 {
				return "none", true
			}
			return strings.Join(p.RingGroup, ", "), true
		},
		set: func(p *parkd.Policy, v string) { p.RingGroup = splitURIs(v) }},
	{key: "ring_group_for", label: "ring group for", kind: kindDuration, lo: 5 * time.Second, hi: 10 * time.Minute, hint: "e.g. 30s",
		get: durGet(func(p parkd.Policy) *parkd.Duration { return p.RingGroupFor }),
		set: func(p *parkd.Policy, v string) { p.RingGroupFor = durPtr(v) }},
	{key: "on_failure", label: "on failure", kind: kindEnum, options: []string{parkd.FailureRepark, parkd.FailureHangup, parkd.FailureForward},
		get: strGet(func(p parkd.Policy) *string { return p.OnFailure }),
		set: func(p *parkd.Policy, v string) { p.OnFailure = &v }},
	{key: "forward_to", label: "forward to", kind: kindURI, hint: "a sip: URI, for on failure: forward",
		get: strGet(func(p parkd.Policy) *string { return p.ForwardTo }),
		set: func(p *parkd.Policy, v string) { p.ForwardTo = &v }},
	{key: "max_recalls", label: "max recalls", kind: kindInt, ilo: 0, ihi: 20, hint: "0–20; 0 never recalls",
		get: func(p parkd.Policy) (string, bool) {
			if p.MaxRecalls == nil {
				return "", false
			}
			return strconv.Itoa(*p.MaxRecalls), true
		},
		set: func(p *parkd.Policy, v string) {
			n, _ := strconv.Atoi(v)
			p.MaxRecalls = &n
		}},
}

// splitURIs reads a ring group as typed; "none" is an empty group (it
// clears a group set below), where an empty field inherits one.
func splitURIs(v string) []string {
	if strings.TrimSpace(v) == "none" {
		return []string{}
	}
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
}

// check validates a typed value as the daemon would, as it is typed: ""
// inherits; the rest must parse, be in range, and pass the daemon's own
// Policy.Validate, so the message is the one PatchPolicy would give.
func (f policyField) check(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	switch f.kind {
	case kindDuration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Sprintf("%q is not a duration (e.g. 45s, 2m)", v)
		}
		if d < f.lo || d > f.hi {
			return fmt.Sprintf("must be between %s and %s", parkd.Duration(f.lo), parkd.Duration(f.hi))
		}
	case kindInt:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Sprintf("%q is not a whole number", v)
		}
		if n < f.ilo || n > f.ihi {
			return fmt.Sprintf("must be between %d and %d", f.ilo, f.ihi)
		}
	case kindEnum:
		ok := false
		for _, o := range f.options {
			ok = ok || o == v
		}
		if !ok {
			return "must be one of " + strings.Join(f.options, ", ")
		}
	}
	var p parkd.Policy
	f.set(&p, v)
	if err := p.Validate(""); err != nil {
		var pe *parkd.PolicyError
		if errors.As(err, &pe) {
			return pe.Msg
		}
		return err.Error()
	}
	return ""
}

// sourceText says where an effective value came from: the layer, and the
// config key or override scope when there is room.
func sourceText(s parkd.PolicySource, field string, wide bool) string {
	if s.Layer == "" {
		return ""
	}
	key := strings.TrimSuffix(s.Key, "."+field)
	key = strings.TrimPrefix(key, "override ")
	if !wide || key == "" || key == s.Layer {
		return s.Layer
	}
	return s.Layer + " · " + key
}

// effectiveText is a policy value as the detail pane shows it.
func effectiveText(f policyField, p parkd.Policy) string {
	v, ok := f.get(p)
	if !ok || v == "" {
		return "—"
	}
	return v
}
