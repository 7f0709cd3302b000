package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/siptest"
)

// Under journald text lines carry no time of their own; everything else
// stays as it was.
func TestLoggerUnderJournald(t *testing.T) {
	tests := []struct {
		format   string
		journald bool
		wantTime bool
	}{
		{"text", false, true},
		{"text", true, false},
		{"json", false, true},
		{"json", true, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s journald=%v", tt.format, tt.journald), func(t *testing.T) {
			var buf bytes.Buffer
			log, err := newLogger(&buf, tt.format, "info", tt.journald)
			if err != nil {
				t.Fatal(err)
			}
			log.Info("parkd listening", "sip", "udp://127.0.0.1:5060", "at", "x")
			line := buf.String()
			hasTime := strings.Contains(line, "time=") || strings.Contains(line, `"time":`)
			if hasTime != tt.wantTime {
				t.Errorf("time in line = %v, want %v: %s", hasTime, tt.wantTime, line)
			}
			for _, want := range []string{"parkd listening", "udp://127.0.0.1:5060", "INFO"} {
				if !strings.Contains(line, want) {
					t.Errorf("line lacks %q: %s", want, line)
				}
			}
		})
	}
}

func TestParseLogLevel(t *testing.T) {
	tests := []struct {
		name    string
		enabled []string // levels a line of which is written
		err     string
	}{
		{"trace", []string{"TRACE", "DEBUG", "INFO"}, ""},
		{"debug", []string{"DEBUG", "INFO"}, ""},
		{"info", []string{"INFO"}, ""},
		{"verbose", nil, `flag --log-level: "verbose" is not trace, debug, info, warn or error`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := newLogger(&buf, "text", tt.name, false)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Log(context.Background(), -8, "t")
			log.Debug("d")
			log.Info("i")
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				_, after, _ := strings.Cut(line, "level=")
				lvl, _, _ := strings.Cut(after, " ")
				got = append(got, lvl)
			}
			if strings.Join(got, ",") != strings.Join(tt.enabled, ",") {
				t.Errorf("lines at %v, want %v:\n%s", got, tt.enabled, buf.String())
			}
		})
	}
}

// The SIP transactions' lines (parkd's own INVITE transactions', and
// sipgo's) show at trace only; parkd's own debug lines (a BYE from the
// caller) show at debug.
func TestLogLevelTraceShowsSipgo(t *testing.T) {
	for _, tt := range []struct {
		level     string
		wantSipgo bool
	}{{"debug", false}, {"trace", true}} {
		t.Run(tt.level, func(t *testing.T) {
			port := freePort(t)
			cmd := exec.Command(binary, "serve",
				"--sip", fmt.Sprintf("udp://127.0.0.1:%d", port),
				"--rtp-ports", fmt.Sprintf("%d-%d", 45200, 45299),
				"--api", "", "--data", t.TempDir(), "--log-level", tt.level)
			var stderr lockedBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			waitListening(t, &stderr, port)

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := siptest.NewPhone(t, "alice").Dial(ctx, fmt.Sprintf("sip:700@127.0.0.1:%d", port), siptest.CallOptions{})
			if err != nil || c.Status() != 200 {
				t.Fatalf("park: %v %d\n%s", err, c.Status(), stderr.String())
			}
			if _, err := c.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(stderr.String(), "BYE received") {
				if time.Now().After(deadline) {
					t.Fatalf("no debug line about the BYE at --log-level %s:\n%s", tt.level, stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			logs := stderr.String()
			if got := strings.Contains(logs, "INVITE server transaction ended"); got != tt.wantSipgo {
				t.Errorf("\"INVITE server transaction\" lines at --log-level %s: %v, want %v\n%s", tt.level, got, tt.wantSipgo, logs)
			}
			if tt.wantSipgo && !strings.Contains(logs, "level=TRACE") {
				t.Errorf("sipgo's lines are not marked TRACE:\n%s", logs)
			}
		})
	}
}
