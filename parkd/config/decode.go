package config

import (
	"fmt"
	"math"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// nodeDecoder copies a YAML node tree into the config structs. It replaces
// yaml.v3's own struct decoding (Decoder.KnownFields) because that one
// reports unknown keys as "field x not found in type config.Policy": ours
// names the key path and line, gives lots their defaults, and remembers the
// line of every key so validation errors can point into the file too.
type nodeDecoder struct {
	budget int            // nodes left to visit; aliases can expand a short file enormously
	lines  map[string]int // key path → line
}

var durationType = reflect.TypeFor[Duration]()

func (d *nodeDecoder) spend(n *yaml.Node, path string, cost int) error {
	d.budget -= cost
	if d.budget < 0 {
		return &ConfigError{Key: path, Line: n.Line, Msg: "the file is too large once its aliases are expanded"}
	}
	return nil
}

// decode stores node n into v; path is v's key path for errors.
func (d *nodeDecoder) decode(n *yaml.Node, v reflect.Value, path string) error {
	if err := d.spend(n, path, 1); err != nil {
		return err
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return d.decode(n.Alias, v, path)
	}
	if isNull(n) {
		if v.Kind() != reflect.Struct { // a section left empty keeps its defaults
			v.SetZero()
		}
		return nil
	}
	if v.Type() == durationType {
		return d.decodeDuration(n, v, path)
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem()) // fresh: never write through a default's pointer
		if err := d.decode(n, elem.Elem(), path); err != nil {
			return err
		}
		v.Set(elem)
		return nil
	case reflect.Struct:
		return d.decodeStruct(n, v, path)
	case reflect.Slice:
		return d.decodeSlice(n, v, path)
	case reflect.Map:
		if v.Type().Elem().Kind() == reflect.Interface {
			return d.decodeVerbatim(n, v, path)
		}
		return d.decodeMap(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return nodeError(n, path, "must be a single value, not %s", kindName(n))
		}
		v.SetString(n.Value)
		return nil
	case reflect.Int:
		return d.decodeInt(n, v, path)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			return nodeError(n, path, "must be true or false (got %s)", describe(n))
		}
		v.SetBool(b)
		return nil
	}
	return nodeError(n, path, "cannot hold a value of Go type %s", v.Type()) // a new field type nobody taught us
}

func (d *nodeDecoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) error {
	dur, err := parseDurationNode(n)
	if err != nil {
		return nodeError(n, path, "%v", err)
	}
	v.SetInt(int64(dur))
	return nil
}

func (d *nodeDecoder) decodeInt(n *yaml.Node, v reflect.Value, path string) error {
	var i int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
		return nodeError(n, path, "must be a whole number (got %s)", describe(n))
	}
	v.SetInt(int64(i))
	return nil
}

func (d *nodeDecoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return nodeError(n, path, "must be a mapping of keys, not %s", describe(n))
	}
	pairs, err := d.pairs(n, path)
	if err != nil {
		return err
	}
	fields := yamlFields(v.Type())
	for _, p := range pairs {
		i, ok := fields[p.name]
		if !ok {
			return unknownKey(p, path, fields)
		}
		child := JoinKey(path, p.name)
		d.lines[child] = p.key.Line
		if err := d.decode(p.value, v.Field(i), child); err != nil {
			return err
		}
	}
	return nil
}

func (d *nodeDecoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.SequenceNode {
		return nodeError(n, path, "must be a list (write [value] for one), not %s", describe(n))
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		elem := out.Index(i)
		if elem.Type() == reflect.TypeFor[LotConfig]() {
			elem.Set(reflect.ValueOf(listedLotDefaults()))
		}
		child := fmt.Sprintf("%s[%d]", path, i)
		d.lines[child] = item.Line
		if err := d.decode(item, elem, child); err != nil {
			return err
		}
	}
	v.Set(out)
	return nil
}

func (d *nodeDecoder) decodeMap(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return nodeError(n, path, "must be a mapping, not %s", describe(n))
	}
	pairs, err := d.pairs(n, path)
	if err != nil || len(pairs) == 0 { // empty is nil: both mean "none" and omitempty drops both
		v.SetZero()
		return err
	}
	out := reflect.MakeMapWithSize(v.Type(), len(pairs))
	for _, p := range pairs {
		child := mapKey(path, p.name)
		d.lines[child] = p.key.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		if err := d.decode(p.value, elem, child); err != nil {
			return err
		}
		out.SetMapIndex(reflect.ValueOf(p.name), elem)
	}
	v.Set(out)
	return nil
}

// decodeVerbatim keeps a free-form mapping (kazoo:) as generic values:
// map[string]any, []any and scalars. Keys become strings even when written
// as numbers (Kazoo's slots are keyed "701"), so the value always encodes
// as JSON, which is what Kazoo data is.
func (d *nodeDecoder) decodeVerbatim(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return nodeError(n, path, "must be a mapping, not %s", describe(n))
	}
	val, err := d.verbatim(n, path, 0)
	if err != nil {
		return err
	}
	if m := val.(map[string]any); len(m) > 0 { // empty is nil, as in decodeMap
		v.Set(reflect.ValueOf(m))
	} else {
		v.SetZero()
	}
	return nil
}

// maxVerbatimDepth bounds nesting in free-form data; it also ends alias
// cycles (&a [*a]), which would otherwise nest forever.
const maxVerbatimDepth = 64

func (d *nodeDecoder) verbatim(n *yaml.Node, path string, depth int) (any, error) {
	if err := d.spend(n, path, 1); err != nil {
		return nil, err
	}
	if depth > maxVerbatimDepth {
		return nil, nodeError(n, path, "nested more than %d levels deep (an alias that contains itself?)", maxVerbatimDepth)
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, nodeError(n, path, "alias *%s has no anchor", n.Value)
		}
		return d.verbatim(n.Alias, path, depth+1)
	case yaml.MappingNode:
		pairs, err := d.pairs(n, path)
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, len(pairs))
		for _, p := range pairs {
			if m[p.name], err = d.verbatim(p.value, mapKey(path, p.name), depth+1); err != nil {
				return nil, err
			}
		}
		return m, nil
	case yaml.SequenceNode:
		list := make([]any, len(n.Content))
		for i, item := range n.Content {
			var err error
			if list[i], err = d.verbatim(item, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return nil, err
			}
		}
		return list, nil
	}
	return verbatimScalar(n, path)
}

// verbatimScalar decodes one scalar the way YAML types it (int, float,
// bool, string, null), refusing what JSON cannot carry.
func verbatimScalar(n *yaml.Node, path string) (any, error) {
	var val any
	if err := n.Decode(&val); err != nil {
		return nil, nodeError(n, path, "%s", yamlTypeMessage(err))
	}
	switch x := val.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, nodeError(n, path, "%s is not a number JSON can carry", describe(n))
		}
	case nil, bool, int, int64, uint64, string:
	default:
		return n.Value, nil // timestamps and the like stay as written
	}
	return val, nil
}

// pair is one key of a mapping, after merge keys (<<) are resolved.
type pair struct {
	name       string
	key, value *yaml.Node
}

// pairs lists a mapping's keys in order, refusing duplicates. Keys merged
// in with "<<: *anchor" come after, and lose to keys written out (YAML
// merge semantics: shallow, explicit wins, earlier merge source wins).
func (d *nodeDecoder) pairs(n *yaml.Node, path string) ([]pair, error) {
	if err := d.spend(n, path, len(n.Content)); err != nil {
		return nil, err
	}
	var own, merged []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			m, err := d.mergeSources(val, path)
			if err != nil {
				return nil, err
			}
			merged = append(merged, m...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, nodeError(k, path, "keys must be plain names, not %s", kindName(k))
		}
		if first, dup := seen[k.Value]; dup {
			return nil, nodeError(k, JoinKey(path, k.Value), "given twice (first on line %d)", first)
		}
		seen[k.Value] = k.Line
		own = append(own, pair{k.Value, k, val})
	}
	for _, p := range merged {
		if _, ok := seen[p.name]; !ok {
			seen[p.name] = p.key.Line
			own = append(own, p)
		}
	}
	return own, nil
}

// mergeSources returns the pairs a "<<" value brings: one mapping or a list
// of them, usually aliases.
func (d *nodeDecoder) mergeSources(n *yaml.Node, path string) ([]pair, error) {
	if err := d.spend(n, path, 1); err != nil {
		return nil, err
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return d.mergeSources(n.Alias, path)
	}
	switch n.Kind {
	case yaml.MappingNode:
		return d.pairs(n, path)
	case yaml.SequenceNode:
		var all []pair
		for _, item := range n.Content {
			if item.Kind == yaml.SequenceNode {
				return nil, nodeError(item, path, "<< merges mappings, not lists of lists")
			}
			p, err := d.mergeSources(item, path)
			if err != nil {
				return nil, err
			}
			all = append(all, p...)
		}
		return all, nil
	}
	return nil, nodeError(n, path, "<< merges a mapping or a list of mappings, not %s", describe(n))
}

// lineOf returns the line of key, or of its nearest ancestor written in the
// file (a missing required key points at its lot), 0 if none.
func (d *nodeDecoder) lineOf(key string) int {
	for i := len(key); i > 0; i-- {
		if i < len(key) && key[i] != '.' && key[i] != '[' {
			continue
		}
		if line, ok := d.lines[key[:i]]; ok {
			return line
		}
	}
	return 0
}
