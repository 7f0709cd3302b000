package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as a Go duration string ("45s", "2m")
// in YAML and JSON. Bare numbers are refused (except 0) because nobody can
// tell whether 45 means seconds or milliseconds — Kazoo uses ms.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d without the trailing zero units Go adds: "2m", not
// "2m0s", so errors and marshalled files read like what admins write.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

// MarshalText makes JSON (and any text encoder) write the duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err == nil {
		*d = v
	}
	return err
}

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a duration string, refusing bare numbers with a hint.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDurationNode(n)
	if err == nil {
		*d = v
	}
	return err
}

// UnmarshalJSON reads a JSON string; a JSON number gets the same hint as in
// YAML instead of encoding/json's generic type error.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return bareNumberError(string(b))
	}
	return d.UnmarshalText([]byte(s))
}

func parseDurationNode(n *yaml.Node) (Duration, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, fmt.Errorf(`must be a duration like "45s", not %s`, kindName(n))
	}
	if n.Tag == "!!int" || n.Tag == "!!float" {
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil && v == 0 {
			return 0, nil // "0" has no unit to get wrong
		}
		return 0, bareNumberError(n.Value)
	}
	return parseDuration(n.Value)
}

func parseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return 0, bareNumberError(s)
		}
		return 0, fmt.Errorf(`%q is not a duration; use a duration like "45s"`, s)
	}
	if v < 0 {
		return 0, fmt.Errorf("must not be negative (got %s)", s)
	}
	return Duration(v), nil
}

func bareNumberError(s string) error {
	return fmt.Errorf(`plain number %s is not a duration; use a duration like "45s"`, s)
}
