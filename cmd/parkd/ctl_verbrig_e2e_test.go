package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/siptest"
)

// The JSON of `parkd ctl --json`, decoded independently of the parkd
// package's types so the test holds the wire format, not the structs.
type verbParty struct {
	Name   string `json:"name"`
	Number string `json:"number"`
	URI    string `json:"uri"`
}

type verbCall struct {
	ID        string     `json:"id"`
	State     string     `json:"state"`
	Lot       string     `json:"lot"`
	Slot      string     `json:"slot"`
	Caller    verbParty  `json:"caller"`
	RecallAt  *time.Time `json:"recall_at"`
	RingingTo string     `json:"ringing_to"`
	Position  int        `json:"position"`
	Peer      string     `json:"peer"`
}

type verbSlot struct {
	Lot   string    `json:"lot"`
	Slot  string    `json:"slot"`
	State string    `json:"state"`
	Call  *verbCall `json:"call"`
}

type verbPolicy struct {
	Scope     string                     `json:"scope"`
	Effective map[string]json.RawMessage `json:"effective"`
	Override  map[string]json.RawMessage `json:"override"`
	Sources   map[string]struct {
		Layer string `json:"layer"`
		Key   string `json:"key"`
	} `json:"sources"`
}

type verbHistory struct {
	Entries []struct {
		Slot    string `json:"slot"`
		Caller  string `json:"caller"`
		Outcome string `json:"outcome"`
		Detail  string `json:"detail"`
	} `json:"entries"`
}

// verbRow is one `parkd ctl` run: what the phones do first, the verb, what
// it must print and exit with, and what the daemon must show afterwards.
// "{name}" in args and expectations is replaced from the test's vars (call
// ids, phone URIs); in the regexps the value is quoted.
type verbRow struct {
	name   string
	setup  func(t *testing.T)
	args   []string
	code   int
	out    []string // substrings of stdout
	outRE  []string // regexps stdout matches
	notOut []string // substrings stdout must lack
	errOut []string // substrings of stderr
	json   func(t *testing.T, out []byte)
	after  func(t *testing.T)
	run    func(t *testing.T) // instead of args: rows that drive processes themselves
}

// startVerbsDaemon is startCtlDaemon with a config file: lot main with
// attendant extension 0 and operator as its operator, SIP on UDP only.
func startVerbsDaemon(t *testing.T, operator string) *ctlDaemon {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "parkd.yaml")
	body := fmt.Sprintf(`lots: [{name: main, extension: "700", retrieve_extension: "*700", slots: "701-720", attendant_extension: "0", operator: %q}]`+"\n", operator)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &ctlDaemon{api: "127.0.0.1:" + strconv.Itoa(freePort(t)), data: t.TempDir(), stderr: &lockedBuffer{}}
	cmd := exec.Command(binary, "serve", "--config", cfg,
		"--api", d.api, "--data", d.data, "--sip", "udp://127.0.0.1:0",
		"--rtp-ports", "46400-46499", "--log-format", "json")
	cmd.Stderr = d.stderr
	cmd.Env = append(cmd.Environ(), fastExit()...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("parkd exited with %v after SIGTERM\n%s", err, d.stderr)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("parkd still running 10 s after SIGTERM")
		}
	})
	waitHealthy(t, "http://"+d.api, exited, d.stderr)
	return d
}

// verbJSON runs `ctl --json args…`, which must succeed, into v.
func (d *ctlDaemon) verbJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	code, out, errOut := d.ctl(t, fastExit(), append([]string{"--json"}, args...)...)
	if code != 0 {
		t.Fatalf("parkd ctl --json %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("parkd ctl --json %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// waitSlots polls `ctl --json slots` until ok holds, for up to 5 s.
func (d *ctlDaemon) waitSlots(t *testing.T, what string, ok func(map[string]verbSlot) bool) {
	t.Helper()
	var last string
	deadline := time.Now().Add(5 * time.Second)
	for {
		var v struct{ Slots []verbSlot }
		d.verbJSON(t, &v, "slots")
		m := map[string]verbSlot{}
		var busy []string
		for _, s := range v.Slots {
			m[s.Slot] = s
			if s.Call != nil || s.State != "free" {
				b, _ := json.Marshal(s)
				busy = append(busy, string(b))
			}
		}
		if ok(m) {
			return
		}
		last = strings.Join(busy, "\n")
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 5 s; slots in use:\n%s\ndaemon log:\n%s", what, last, d.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitCalls polls `ctl --json calls` until ok holds, for up to 5 s.
func (d *ctlDaemon) waitCalls(t *testing.T, what string, ok func(map[string]verbCall) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var v struct{ Calls []verbCall }
		d.verbJSON(t, &v, "calls")
		m := map[string]verbCall{}
		for _, k := range v.Calls {
			m[k.ID] = k
		}
		if ok(m) {
			return
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(v.Calls, "", "  ")
			t.Fatalf("no %s within 5 s; calls:\n%s\ndaemon log:\n%s", what, b, d.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitCall waits for the one call that match accepts and returns it.
func (d *ctlDaemon) waitCall(t *testing.T, what string, match func(verbCall) bool) verbCall {
	t.Helper()
	var found []verbCall
	d.waitCalls(t, what, func(m map[string]verbCall) bool {
		found = found[:0]
		for _, k := range m {
			if match(k) {
				found = append(found, k)
			}
		}
		return len(found) == 1
	})
	return found[0]
}

// fastExit is the environment that spares a -race binary the race
// runtime's default 1 s sleep at exit (atexit_sleep_ms), which it takes
// once it has more than one thread: every ctl run that talked to the
// daemon would otherwise last over a second.
func fastExit() []string {
	return []string{"GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")}
}

func statusOf(c *siptest.Call) int {
	if c == nil {
		return 0
	}
	return c.Status()
}

// verbWatch is `parkd ctl watch` running in the background.
type verbWatch struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *lockedBuffer
	exited chan error
}

func startVerbWatch(t *testing.T, d *ctlDaemon, args ...string) *verbWatch {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"ctl", "--api", "http://" + d.api, "--data", d.data, "watch"}, args...)...)
	cmd.Env = append(cmd.Environ(), "PARKD_TOKEN=", "PARKD_API=")
	cmd.Env = append(cmd.Env, fastExit()...)
	w := &verbWatch{cmd: cmd, lines: make(chan string, 1000), stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = w.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
		close(w.lines)
		w.exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return w
}

// any reports whether a line arrives within d, and drops it.
func (w *verbWatch) any(d time.Duration) bool {
	select {
	case _, ok := <-w.lines:
		return ok
	case <-time.After(d):
		return false
	}
}

// next returns the first line want accepts, skipping others, within 5 s.
func (w *verbWatch) next(t *testing.T, want func(string) bool) string {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case l, ok := <-w.lines:
			if !ok {
				t.Fatalf("watch %v ended:\n%s", w.cmd.Args[7:], w.stderr)
			}
			if want(l) {
				return l
			}
			if !strings.Contains(l, "policy") {
				t.Logf("watch %v, skipped: %s", w.cmd.Args[7:], l)
			}
		case <-timeout:
			t.Fatalf("watch %v printed no such line within 5 s:\n%s", w.cmd.Args[7:], w.stderr)
		}
	}
}

// interrupt sends SIGINT and wants exit 0 with nothing on stderr.
func (w *verbWatch) interrupt(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range w.lines { // drain, so the reader reaches Wait
		}
	}()
	select {
	case err := <-w.exited:
		if err != nil {
			t.Errorf("watch %v after SIGINT: %v\n%s", w.cmd.Args[7:], err, w.stderr)
		}
		if s := w.stderr.String(); s != "" {
			t.Errorf("watch %v wrote to stderr:\n%s", w.cmd.Args[7:], s)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("watch %v still running 5 s after SIGINT", w.cmd.Args[7:])
	}
}
