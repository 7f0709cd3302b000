package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/siptest"
)

// consoleRig is what the console tests share: Alice, who calls in, and
// Bob, the receptionist's phone (the lot's operator), on a daemon whose
// SIP and API ports are known in advance.
type consoleRig struct {
	t        *testing.T
	alice    *siptest.Phone
	bob      *siptest.Phone
	sip, api string // host:port
	config   string
	env      []string
}

func newConsoleRig(t *testing.T) *consoleRig {
	r := &consoleRig{t: t,
		alice: siptest.NewPhone(t, "alice", siptest.WithDisplay("Alice")),
		bob:   siptest.NewPhone(t, "bob", siptest.WithDisplay("Bob")),
		sip:   fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		api:   fmt.Sprintf("127.0.0.1:%d", freePort(t)),
	}
	r.config = filepath.Join(t.TempDir(), "parkd.yaml")
	cfg := fmt.Sprintf("lots:\n  - {name: main, extension: \"700\", slots: \"701-720\", attendant_extension: \"0\", operator: %q}\n", r.bob.URI())
	if err := os.WriteFile(r.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r.env = []string{"XDG_STATE_HOME=" + t.TempDir(), "GORACE=atexit_sleep_ms=0", "TERM=xterm-256color", "PARKD_TOKEN=", "PARKD_API="}
	return r
}

// serveArgs are the flags that put the daemon where the rig expects it.
func (r *consoleRig) serveArgs() string {
	return fmt.Sprintf("--config %s --sip udp://%s --api %s --rtp-ports 46600-46699", shellQuote(r.config), r.sip, r.api)
}

// park calls the park extension as Alice and returns her call.
func (r *consoleRig) park() *siptest.Call {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := r.alice.Dial(ctx, "sip:700@"+r.sip, siptest.CallOptions{})
	if err != nil || c.Status() != 200 {
		r.t.Fatalf("parking Alice: %v (status %d)", err, c.Status())
	}
	return c
}

// slotFree is slot 701 shown free, in the table or the grid.
var slotFree = regexp.MustCompile(`701\s+· free`)

// retrieveWithEnter presses enter on slot 701 (the first, selected at
// start): the console rings my phone (Bob), which answers; the slot frees.
func (r *consoleRig) retrieveWithEnter(p *tmuxPane, alice *siptest.Call) {
	r.t.Helper()
	p.keys("Enter")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in, err := r.bob.Incoming(ctx)
	if err != nil {
		r.t.Fatalf("enter on 701 did not ring my phone: %v\n%s", err, p.screen())
	}
	if _, err := in.Answer(ctx); err != nil {
		r.t.Fatal(err)
	}
	p.waitFor("701 free again", func(s string) bool { return slotFree.MatchString(s) })
}

// The real binary in tmux, daemon and console in one process: a phone
// parks, the pane shows the slot and the caller, enter retrieves it to my
// phone, the slot shows free, and q then y stops everything with exit 0.
func TestConsoleEmbedded(t *testing.T) {
	r := newConsoleRig(t)
	for _, size := range []struct{ w, h int }{{80, 24}, {160, 48}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			r.t = t
			p := startTmux(t, size.w, size.h, r.env, binary+" "+r.serveArgs())
			p.waitText("701")
			alice := r.park()
			screen := p.waitText("Alice")
			if line := lineWith(screen, "Alice"); !strings.Contains(screen, "701") {
				t.Errorf("the pane shows Alice (%q) but not her slot 701:\n%s", line, screen)
			}
			r.retrieveWithEnter(p, alice)

			// Another call parked: q asks before hanging it up.
			r.park()
			p.waitFor("701 taken again", func(s string) bool { return !slotFree.MatchString(s) })
			p.keys("q")
			p.waitText("Quit parkd?")
			p.keys("y")
			if code := p.exitCode(); code != 0 {
				t.Errorf("parkd exited %d after q, y:\n%s", code, p.screen())
			}
		})
	}
}

// The same flow attached to `parkd serve` with `parkd console`, with a
// daemon restart in the middle: the header says it is disconnected, then
// the slots come back; q quits at once and the daemon runs on.
func TestConsoleAttachedSurvivesRestart(t *testing.T) {
	r := newConsoleRig(t)
	data := t.TempDir()
	type serving struct {
		cmd    *exec.Cmd
		exited chan error
	}
	start := func() *serving {
		cmd := exec.Command("sh", "-c", "exec "+binary+" serve --data "+shellQuote(data)+" "+r.serveArgs())
		cmd.Env = append(os.Environ(), r.env...)
		var log lockedBuffer
		cmd.Stderr = &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s := &serving{cmd: cmd, exited: make(chan error, 1)}
		go func() { s.exited <- cmd.Wait() }()
		waitHealthy(t, "http://"+r.api, s.exited, &log)
		return s
	}
	stop := func(s *serving) {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			t.Error("parkd serve did not stop within 10 s of SIGTERM")
		}
	}
	daemon := start()
	t.Cleanup(func() { stop(daemon) })

	p := startTmux(t, 120, 40, r.env, fmt.Sprintf("%s console --api http://%s --data %s", binary, r.api, shellQuote(data)))
	p.waitText("701")
	alice := r.park()
	p.waitText("Alice")
	r.retrieveWithEnter(p, alice)

	stop(daemon)
	p.waitFor("the disconnection", func(s string) bool { return strings.Contains(strings.ToLower(s), "disconnected") })
	daemon = start()
	r.park()
	p.waitFor("the slots again, live", func(s string) bool {
		return !strings.Contains(strings.ToLower(s), "disconnected") && !slotFree.MatchString(s) && strings.Contains(s, "701")
	})
	p.keys("q")
	if code := p.exitCode(); code != 0 {
		t.Errorf("parkd console exited %d after q:\n%s", code, p.screen())
	}
	select {
	case err := <-daemon.exited:
		t.Errorf("the daemon stopped with the console: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
}
