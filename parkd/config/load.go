package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// LoadConfig reads and parses the config file at path. Errors start with
// the path.
func LoadConfig(path string) (Config, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return Config{}, err
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			named := *ce
			named.File = path
			return Config{}, &named
		}
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// readConfigFile reads the file at path; its error starts with the path.
func readConfigFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path goes in front instead of "open <path>:"
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// ParseConfig reads a config file's text (YAML, or JSON which is YAML) and
// validates it. Keys not given keep DefaultConfig's values, except that a
// `lots:` key replaces the default lot with exactly the lots listed, each
// starting from the lot defaults. An empty key (`key:` or null) clears it:
// for a lot or slot policy field that means "inherit"; a cleared defaults
// field gets its built-in value back, so Defaults is always complete.
// Unknown keys are errors. All errors are *ConfigError naming the key and,
// when known, the line.
func ParseConfig(data []byte) (Config, error) {
	cfg, d, err := decodeConfig(data)
	if err != nil {
		return Config{}, err
	}
	if errs := d.problems(cfg); len(errs) > 0 {
		return Config{}, errs[0]
	}
	return cfg, nil
}

// decodeConfig reads the text into DefaultConfig without validating it.
// The decoder it returns knows the line of every key, for problems.
// ParseConfig and CheckConfig share it so that the daemon and `parkd
// config check` cannot read a file differently.
func decodeConfig(data []byte) (Config, *nodeDecoder, error) {
	root, err := parseYAML(data)
	if err != nil {
		return Config{}, nil, err
	}
	cfg := DefaultConfig()
	d := &nodeDecoder{budget: maxDecodeBudget, lines: map[string]int{}}
	if root != nil {
		if root.Kind != yaml.MappingNode {
			return Config{}, nil, &ConfigError{Line: root.Line, Msg: "the file must be a mapping of keys such as sip:, rtp:, lots:"}
		}
		if err := d.decode(root, reflect.ValueOf(&cfg).Elem(), ""); err != nil {
			return Config{}, nil, err
		}
	}
	// Keys cleared in defaults: fall back to the built-in values, so that
	// Defaults is always complete (and reads back the same when written).
	cfg.Defaults = cfg.Defaults.Over(BuiltinPolicy())
	cfg.expandPaths()
	return cfg, d, nil
}

// problems validates cfg, each problem pointing at its key's line.
func (d *nodeDecoder) problems(cfg Config) []*ConfigError {
	errs := cfg.Problems()
	for _, e := range errs {
		e.Line = d.lineOf(e.Key)
	}
	return errs
}

// expandPaths expands "~" in every path-valued key.
func (c *Config) expandPaths() {
	c.Data = ExpandHome(c.Data)
	c.MOH = ExpandHome(c.MOH)
	expand := func(p *Policy) {
		if p.MOH != nil {
			p.MOH = ptr(ExpandHome(*p.MOH))
		}
	}
	expand(&c.Defaults)
	for i := range c.Lots {
		expand(&c.Lots[i].Policy)
		for k, sp := range c.Lots[i].SlotPolicies {
			expand(&sp)
			c.Lots[i].SlotPolicies[k] = sp
		}
	}
}
