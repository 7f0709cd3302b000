package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parkd/parkd/parkd"
)

// Flag values that check themselves while cobra parses, so a bad value is
// a flag error (exit 2) that names the flag, before any request is sent.

// enum is a string flag with a fixed set of values.
type enum struct {
	p     *string
	allow []string
}

func newEnum(p *string, allow ...string) *enum { return &enum{p: p, allow: allow} }

func (e *enum) String() string { return *e.p }
func (e *enum) Type() string   { return "string" }
func (e *enum) Set(v string) error {
	if !slices.Contains(e.allow, v) {
		return fmt.Errorf("%q is not %s", v, joinOr(e.allow))
	}
	*e.p = v
	return nil
}

func joinOr(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// durationFlag is a parkd.Duration, with its "45s, not 45" message; nil
// until set, so an unset flag leaves the policy in charge.
type durationFlag struct{ p **parkd.Duration }

func (d durationFlag) String() string {
	if *d.p == nil {
		return ""
	}
	return (*d.p).String()
}
func (d durationFlag) Type() string { return "duration" }
func (d durationFlag) Set(v string) error {
	var x parkd.Duration
	if err := x.UnmarshalText([]byte(v)); err != nil {
		return err
	}
	*d.p = &x
	return nil
}

// timeFlag takes an RFC 3339 time, a local date and time, a date, or a
// duration meaning that long ago ("1h"): what people type at a prompt.
type timeFlag struct {
	p   *time.Time
	now func() time.Time
}

func (t timeFlag) String() string {
	if t.p.IsZero() {
		return ""
	}
	return t.p.Format(time.RFC3339)
}
func (t timeFlag) Type() string { return "time" }
func (t timeFlag) Set(v string) error {
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		*t.p = t.now().Add(-d)
		return nil
	}
	if x, err := time.Parse(time.RFC3339, v); err == nil {
		*t.p = x
		return nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if x, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			*t.p = x
			return nil
		}
	}
	return fmt.Errorf("%q is not a time: use RFC 3339 (2025-03-01T09:30:00Z), a local \"2025-03-01 09:30\", a date, or a duration ago (2h)", v)
}
