package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Turning the file's text into one YAML node tree, with syntax errors
// worded for admins.

// parseYAML parses the text into one node tree, nil for an empty document.
func parseYAML(data []byte) (root *yaml.Node, err error) {
	// The YAML library parses untrusted text; should it ever panic, the
	// admin must get an error, not a crashed daemon.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, &ConfigError{Msg: fmt.Sprintf("cannot parse the file as YAML (%v)", r)}
		}
	}()
	data = untabJSON(data)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlSyntaxError(err, data)
	}
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, yamlSyntaxError(err, data)
		}
		if documentRoot(&extra) != nil {
			return nil, &ConfigError{Line: extra.Line, Msg: "only one YAML document is allowed (a second one starts here)"}
		}
	}
	return documentRoot(&doc), nil
}

// documentRoot unwraps a document node; nil when it holds nothing.
func documentRoot(doc *yaml.Node) *yaml.Node {
	n := doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	if isNull(n) {
		return nil
	}
	return n
}

// untabJSON replaces tabs in a JSON document with spaces: tab-indented
// JSON is common and valid JSON, but YAML refuses tabs as indentation. It
// is safe because valid JSON can only hold tabs as whitespace (a tab inside
// a JSON string must be written \t).
func untabJSON(data []byte) []byte {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || bytes.IndexByte(data, '\t') < 0 || !json.Valid(data) {
		return data
	}
	return bytes.ReplaceAll(data, []byte("\t"), []byte(" "))
}

var yamlLineRE = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// yamlSyntaxError turns the YAML library's message into a ConfigError with
// the line split out, plus hints for the two mistakes admins make most.
func yamlSyntaxError(err error, data []byte) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	switch {
	case strings.Contains(msg, "unknown anchor"):
		if _, name, ok := strings.Cut(msg, "'"); ok && line == 0 { // yaml.v3 gives no line here
			name, _, _ = strings.Cut(name, "'")
			line = lineContaining(data, "*"+name)
		}
		msg += `; quote values that start with "*", like retrieve_extension: "*700"`
	case line > 0 && strings.Contains(lineText(data, line), "\t"):
		msg += "; YAML does not allow tabs for indentation"
	}
	return &ConfigError{Line: line, Msg: "cannot parse: " + msg}
}

// lineContaining returns the 1-based line of the first occurrence of sub.
func lineContaining(data []byte, sub string) int {
	i := bytes.Index(data, []byte(sub))
	if i < 0 {
		return 0
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}

// lineText returns the 1-based line n of data ("" past the end).
func lineText(data []byte, n int) string {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return ""
		}
		data = data[j+1:]
	}
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return string(data)
}
