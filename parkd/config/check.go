package config

import (
	"errors"
)

// CheckConfig reads a config file's text like ParseConfig but, instead of
// stopping at the first problem, returns every one it can find (up to 100),
// each with its key and line, for `parkd config check`. A file that cannot
// be decoded (bad YAML, an unknown key, a wrong type) has one problem: the
// decoder cannot go on past it. Nil means the file is good.
func CheckConfig(data []byte) []*ConfigError {
	cfg, d, err := decodeConfig(data)
	if err != nil {
		return []*ConfigError{asConfigError(err)}
	}
	return d.problems(cfg)
}

// CheckConfigFile is CheckConfig on the file at path, each problem naming
// the file. The error is for a file that cannot be read at all.
func CheckConfigFile(path string) ([]*ConfigError, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
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
