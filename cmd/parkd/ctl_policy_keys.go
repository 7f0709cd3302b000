package main

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/parkd/parkd/parkd"
)

// policyKeys are parkd.Policy's config names in field order, read from its
// JSON tags so a key added to the policy is settable here at once.
var policyKeys = func() []string {
	var keys []string
	t := reflect.TypeFor[parkd.Policy]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}()

// policyField is the field of p that key names.
func policyField(p *parkd.Policy, key string) (reflect.Value, bool) {
	v := reflect.ValueOf(p).Elem()
	i := slices.Index(policyKeys, key)
	if i < 0 {
		return reflect.Value{}, false
	}
	return v.Field(i), true
}

func unknownKey(key string) error {
	return usage("unknown policy key %q; keys: %s", key, strings.Join(policyKeys, ", "))
}

// parseAssignments reads KEY=VALUE arguments into a policy: durations as
// Go durations ("45s"), max_recalls as a number, ring_group as a
// comma-separated list where "ring_group=" is the empty list.
func parseAssignments(args []string) (parkd.Policy, error) {
	var p parkd.Policy
	seen := map[string]bool{}
	for _, arg := range args {
		key, val, ok := strings.Cut(arg, "=")
		if !ok {
			return p, usage("%q is not KEY=VALUE", arg)
		}
		f, ok := policyField(&p, key)
		if !ok {
			return p, unknownKey(key)
		}
		if seen[key] {
			return p, usage("%s is given twice", key)
		}
		seen[key] = true
		if err := setField(f, val); err != nil {
			return p, usage("%s: %v", key, err)
		}
	}
	return p, nil
}

func setField(f reflect.Value, val string) error {
	switch x := f.Addr().Interface().(type) {
	case **parkd.Duration:
		var d parkd.Duration
		if err := d.UnmarshalText([]byte(val)); err != nil {
			return err
		}
		*x = &d
	case **int:
		n, err := strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", val)
		}
		*x = &n
	case **string:
		*x = &val
	case *[]string:
		list := []string{}
		for _, item := range strings.Split(val, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		*x = list
	default:
		return fmt.Errorf("cannot be set from the command line")
	}
	return nil
}

// formatField is a policy value as people write it; "" when unset.
func formatField(f reflect.Value) string {
	switch x := f.Interface().(type) {
	case *parkd.Duration:
		if x != nil {
			return x.String()
		}
	case *int:
		if x != nil {
			return strconv.Itoa(*x)
		}
	case *string:
		if x != nil {
			if *x == "" {
				return `""`
			}
			return *x
		}
	case []string:
		if x != nil {
			return "[" + strings.Join(x, ", ") + "]"
		}
	}
	return ""
}
