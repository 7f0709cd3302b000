package parkd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// CheckConfig reads a config file's text like ParseConfig but, instead of
// stopping at the first problem, returns every one it can find (up to 100),
// each with its key and line, for `parkd config check`. A file that cannot
// be decoded (bad YAML, an unknown key, a wrong type) has one problem: the
// decoder cannot go on past it. Nil means the file is good.
func CheckConfig(data []byte) []*ConfigError {
	root, err := parseYAML(data)
	if err != nil {
		return []*ConfigError{asConfigError(err)}
	}
	cfg := DefaultConfig()
	d := &nodeDecoder{budget: maxDecodeBudget, lines: map[string]int{}}
	if root != nil {
		if root.Kind != yaml.MappingNode {
			return []*ConfigError{{Line: root.Line, Msg: "the file must be a mapping of keys such as sip:, rtp:, lots:"}}
		}
		if err := d.decode(root, reflect.ValueOf(&cfg).Elem(), ""); err != nil {
			return []*ConfigError{asConfigError(err)}
		}
	}
	cfg.Defaults = cfg.Defaults.Over(BuiltinPolicy())
	cfg.expandPaths()
	errs := cfg.Problems()
	for _, e := range errs {
		e.Line = d.lineOf(e.Key)
	}
	return errs
}

// CheckConfigFile is CheckConfig on the file at path, each problem naming
// the file. The error is for a file that cannot be read at all.
func CheckConfigFile(path string) ([]*ConfigError, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path goes in front instead of "open <path>:"
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	errs := CheckConfig(data)
	for _, e := range errs {
		e.File = path
	}
	return errs, nil
}

func asConfigError(err error) *ConfigError {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return ce
	}
	return &ConfigError{Msg: err.Error()}
}
