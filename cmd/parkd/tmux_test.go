package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tmuxPane is a program running in a detached tmux session, read and
// typed at the way a person would: capture-pane and send-keys.
type tmuxPane struct {
	t        *testing.T
	socket   string // a tmux server of the test's own
	name     string
	exitFile string // the program's exit code lands here
}

var tmuxSessions atomic.Int32

// startTmux runs command (a shell command line) in a w×h pane.
func startTmux(t *testing.T, w, h int, env []string, command string) *tmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (CI installs it)")
	}
	dir := t.TempDir()
	p := &tmuxPane{t: t, socket: filepath.Join(dir, "tmux.sock"), name: fmt.Sprintf("parkd%d", tmuxSessions.Add(1)), exitFile: filepath.Join(dir, "exit")}
	script := filepath.Join(dir, "run.sh")
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(v))
	}
	fmt.Fprintf(&b, "%s\necho $? > %s\nsleep 600\n", command, shellQuote(p.exitFile))
	if err := os.WriteFile(script, []byte(b.String()), 0o700); err != nil {
		t.Fatal(err)
	}
	p.tmux("new-session", "-d", "-s", p.name, "-x", strconv.Itoa(w), "-y", strconv.Itoa(h), script)
	t.Cleanup(func() { exec.Command("tmux", "-S", p.socket, "kill-server").Run() })
	return p
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (p *tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", p.socket}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// screen is what the pane shows now.
func (p *tmuxPane) screen() string { return p.tmux("capture-pane", "-p", "-t", p.name) }

// keys types at the program (tmux key names: Enter, Escape, Down, …).
func (p *tmuxPane) keys(keys ...string) {
	p.tmux(append([]string{"send-keys", "-t", p.name}, keys...)...)
}

// waitFor waits until the screen satisfies ok, failing with the screen.
func (p *tmuxPane) waitFor(what string, ok func(screen string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var s string
	for time.Now().Before(deadline) {
		if s = p.screen(); ok(s) {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("the screen never showed %s; it shows:\n%s", what, s)
	return s
}

func (p *tmuxPane) waitText(text string) string {
	p.t.Helper()
	return p.waitFor(strconv.Quote(text), func(s string) bool { return strings.Contains(s, text) })
}

// exitCode waits for the program to exit and returns its code.
func (p *tmuxPane) exitCode() int {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(p.exitFile); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			code, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return code
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("the program did not exit; the screen shows:\n%s", p.screen())
	return -1
}

// lineWith is the first screen line that contains text.
func lineWith(screen, text string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, text) {
			return l
		}
	}
	return ""
}
