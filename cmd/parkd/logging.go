package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/parkd/parkd/sipcore"
)

// logLevelNames are the --log-level values, most verbose first. trace is
// below debug so that sipgo's per-transaction lines, many per call, do not
// bury parkd's own debug lines.
var logLevelNames = []string{"trace", "debug", "info", "warn", "error"}

// parseLogLevel reads a --log-level value.
func parseLogLevel(name string) (slog.Level, error) {
	if strings.EqualFold(name, "trace") {
		return sipcore.LevelTrace, nil
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(name)); err != nil {
		return 0, fmt.Errorf("flag --log-level: %q is not %s or %s", name,
			strings.Join(logLevelNames[:len(logLevelNames)-1], ", "), logLevelNames[len(logLevelNames)-1])
	}
	return lv, nil
}

// handlerOptions are the options of parkd's log handler. Under journald
// (JOURNAL_STREAM set) text lines carry no time: the journal stamps every
// line itself, and a second stamp only widens each line.
func handlerOptions(level slog.Level, format string, journald bool) *slog.HandlerOptions {
	dropTime := journald && format == "text"
	return &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch {
			case a.Key == slog.TimeKey && dropTime:
				return slog.Attr{}
			case a.Key == slog.LevelKey && a.Value.Any() == sipcore.LevelTrace:
				// slog would write "DEBUG-4".
				return slog.String(slog.LevelKey, "TRACE")
			}
			return a
		},
	}
}

func newLogger(w io.Writer, format, level string, journald bool) (*slog.Logger, error) {
	lv, err := parseLogLevel(level)
	if err != nil {
		return nil, err
	}
	opts := handlerOptions(lv, format, journald)
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("flag --log-format: %q is not text or json", format)
}
