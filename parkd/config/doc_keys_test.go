package config_test

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/parkd/parkd/parkd/config"
)

// docs/CONFIG.md is the admin's reference of the config file. These tests
// keep it and the config structs from drifting apart: its key tables name
// exactly the keys the structs have, and a default written there as one
// `value` is the one parkd uses.

const configDoc = "../../docs/CONFIG.md"

// keyTableHeader starts a table of keys; CONFIG.md's other tables (the
// Kazoo mapping) have other headers and are not read.
const keyTableHeader = "| Key | Default | Range / values | Meaning |"

func TestConfigDocNamesEveryKey(t *testing.T) {
	rows := configDocRows(t)
	have := structKeys(t)
	var missing, extra []string
	for _, k := range have {
		if _, ok := rows[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range rows {
		if !slices.Contains(have, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	if len(missing) > 0 {
		t.Errorf("%s does not list these keys of the config structs: %s", configDoc, strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		t.Errorf("%s lists keys the config structs do not have: %s", configDoc, strings.Join(extra, ", "))
	}
}

// A Default written as one `value` must be what parkd uses: for lots[]
// keys, what a listed lot giving only name, extension and slots gets; for
// the others, what `parkd config example` prints. Defaults written in
// words ("— (required)", data's paths) are not compared.
func TestConfigDocDefaults(t *testing.T) {
	example := yamlRoot(t, config.ExampleConfig())
	cfg, err := config.ParseConfig([]byte(`lots: [{name: sales, extension: "800", slots: "801-820"}]`))
	if err != nil {
		t.Fatal(err)
	}
	var listed yaml.Node
	if err := listed.Encode(cfg.Lots[0]); err != nil {
		t.Fatal(err)
	}
	for key, row := range configDocRows(t) {
		m := codeSpanRE.FindStringSubmatch(row.def)
		if m == nil {
			continue
		}
		node := lookup(example, key)
		if rest, ok := strings.CutPrefix(key, "lots[]."); ok {
			if n := lookup(&listed, rest); n != nil { // else left out as empty: the example has it
				node = n
			}
		}
		if node == nil {
			continue // inside a list that is empty by default, like sip.auth.users[]
		}
		var documented, actual any
		if err := yaml.Unmarshal([]byte(m[1]), &documented); err != nil {
			t.Errorf("%s:%d: %s: the default `%s` is not a YAML value: %v", configDoc, row.line, key, m[1], err)
			continue
		}
		if err := node.Decode(&actual); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(documented, actual) {
			text, _ := yaml.Marshal(actual)
			t.Errorf("%s:%d: %s defaults to %s, not `%s` (write it as the example does)",
				configDoc, row.line, key, strings.TrimSpace(string(text)), m[1])
		}
	}
}

// docRow is one row of a key table.
type docRow struct {
	line int
	def  string // the Default cell as written
}

var codeSpanRE = regexp.MustCompile("^`([^`]*)`$")

// configDocRows reads CONFIG.md's key tables: key (the backquoted first
// cell) -> row.
func configDocRows(t *testing.T) map[string]docRow {
	t.Helper()
	data, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]docRow{}
	inTable := false
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == keyTableHeader {
			inTable = true
			continue
		}
		if !strings.HasPrefix(line, "|") {
			inTable = false
		}
		if !inTable || strings.HasPrefix(line, "| ---") {
			continue
		}
		n := i + 1
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 {
			t.Errorf("%s:%d: a key table row has 4 cells, not %d (a | inside a cell?)", configDoc, n, len(cells))
			continue
		}
		m := codeSpanRE.FindStringSubmatch(strings.TrimSpace(cells[0]))
		if m == nil {
			t.Errorf("%s:%d: the Key cell must be one `key`, not %q", configDoc, n, cells[0])
			continue
		}
		if first, dup := rows[m[1]]; dup {
			t.Errorf("%s:%d: %s is listed twice (first on line %d)", configDoc, n, m[1], first.line)
		}
		rows[m[1]] = docRow{line: n, def: strings.TrimSpace(cells[1])}
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no table headed %q", configDoc, keyTableHeader)
	}
	return rows
}

var listIndexRE = regexp.MustCompile(`\[\d+\]`)

// structKeys are the keys of the config structs in CONFIG.md's form
// (lots[].name rather than lots[0].name), as the example test's walker
// finds them in the example. The example writes sip.auth.users as [], so
// one user written out stands for the keys of its entries.
func structKeys(t *testing.T) []string {
	t.Helper()
	keys := checkKeys(t, yamlRoot(t, config.ExampleConfig()), reflect.TypeFor[config.Config](), "")
	keys = append(keys, checkKeys(t, yamlRoot(t, oneAuthUser), reflect.TypeFor[config.AuthUser](), "sip.auth.users[]")...)
	for i, k := range keys {
		keys[i] = listIndexRE.ReplaceAllString(k, "[]")
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

const oneAuthUser = `
name: "201"                                    # the user
ha1: 0123456789abcdef0123456789abcdef          # MD5
ha1_sha256: ""                                 # SHA-256
`

func yamlRoot(t *testing.T, text string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// lookup finds a key such as "sip.tcp.max_per_source" or "lots[].name"
// under n, taking a list's first entry for []; nil when it is not there.
func lookup(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for part := range strings.SplitSeq(key, ".") {
		name, list := strings.CutSuffix(part, "[]")
		var next *yaml.Node
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		if list {
			if next.Kind != yaml.SequenceNode || len(next.Content) == 0 {
				return nil
			}
			next = next.Content[0]
		}
		n = next
	}
	return n
}
