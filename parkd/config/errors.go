package config

import (
	"fmt"
	"strings"
)

// ConfigError is a config problem tied to one key. Key is a path such as
// "lots[1].slots" or "sip.listen[0]" ("" for the file as a whole). Line is
// the line in the file when known, File the file name when known.
type ConfigError struct {
	Key  string
	Msg  string
	Line int
	File string

	msgNamesKey bool // Msg already says which key ("unknown key … in …")
}

// Error reads "config: <key>: <msg>", with "line N: " after the prefix when
// the line is known, and the file name instead of "config" when known.
func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString("config")
	}
	b.WriteString(": ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" && !e.msgNamesKey {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}
