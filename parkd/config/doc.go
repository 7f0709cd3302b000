// Package config is parkd's config file: its types and defaults, the
// strict YAML/JSON reader that reports every error with its key and line,
// the validator, recall policy layers and the Kazoo park mapping.
// docs/CONFIG.md describes every key for admins.
//
// It only reads and checks; turning a config into sockets, digest users or
// prompt recordings is package parkd's job, so config never imports it.
//
// Where things are:
//
//	types.go, defaults.go        the structs, their enum values and defaults
//	duration.go                  Duration, written "45s" in the file
//	load.go, check.go            LoadConfig, ParseConfig, CheckConfig
//	yaml.go, decode*.go          text to node tree to structs, with lines
//	validate*.go                 Problems: every mistake, one per key
//	numbers.go, addresses.go     slot ranges and dial strings; hosts and URIs
//	policy.go, layers.go         recall policies and how layers merge
//	kazoo.go, kazoo_lot.go       a lot's kazoo: object in parkd's terms
//	auth*.go, blf.go, limits.go, transfer.go   one section or key group each
//	example.go                   `parkd config example`
package config
