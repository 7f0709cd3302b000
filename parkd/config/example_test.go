package config_test

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/parkd/parkd/parkd/config"
)

// The example reads back as exactly the built-in defaults, compared as JSON
// (where an empty list and no list read the same), as the README test does.
func TestExampleConfigIsTheDefaults(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", "")
	cfg, err := config.ParseConfig([]byte(config.ExampleConfig()))
	if err != nil {
		t.Fatalf("the example is refused: %v", err)
	}
	got, _ := json.Marshal(cfg)
	want, _ := json.Marshal(config.DefaultConfig())
	if string(got) != string(want) {
		t.Errorf("the example differs from the defaults:\n%s\nwant\n%s", got, want)
	}
}

// The example writes every key the config structs have, each with a
// comment, so a key added to the structs cannot be left out of it. Maps
// and empty lists are written empty: their entries are the user's.
func TestExampleConfigNamesEveryKey(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(config.ExampleConfig()), &doc); err != nil {
		t.Fatal(err)
	}
	checkKeys(t, doc.Content[0], reflect.TypeFor[config.Config](), "")
}

// checkKeys also returns the path of every struct key it came to (those
// under an empty list or mapping are not reached), for the CONFIG.md test.
func checkKeys(t *testing.T, n *yaml.Node, typ reflect.Type, path string) (keys []string) {
	t.Helper()
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch {
	case typ.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			keys = append(keys, checkKeys(t, item, typ.Elem(), path+"["+strconv.Itoa(i)+"]")...)
		}
	case typ.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		if len(n.Content) == 0 {
			return nil // policy: {} — "the keys of defaults"
		}
		given := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			given[k.Value] = n.Content[i+1]
			if k.LineComment == "" && n.Content[i+1].LineComment == "" && k.HeadComment == "" {
				t.Errorf("%s has no comment", join(path, k.Value))
			}
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key == "" || key == "-" {
				continue
			}
			keys = append(keys, join(path, key))
			v, ok := given[key]
			if !ok {
				t.Errorf("the example has no %s", join(path, key))
				continue
			}
			keys = append(keys, checkKeys(t, v, f.Type, join(path, key))...)
		}
	}
	return keys
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
