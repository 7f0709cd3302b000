package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parkd/parkd/parkd"
)

// runParkd runs the built binary with a home of its own and returns its
// stdout, stderr and exit code.
func runParkd(t *testing.T, home string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_STATE_HOME=",
		"GORACE=atexit_sleep_ms=0") // the -race binary would sleep 1 s at every exit
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// `parkd config check` says ok for a good file, lists every problem of a
// bad one with its line and key, and exits 2 when any file is bad or
// missing.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", "lots:\n  - {name: main, extension: \"700\", slots: 701-720}\n")
	bad := writeFile(t, dir, "bad.yaml", `rtp:
  ports: "9-3"
  latch: foo
lots:
  - name: a
    find_slot: random
`)
	missing := filepath.Join(dir, "missing.yaml")
	badProblems := bad + `: line 2: rtp.ports: ports must be within 1024-65535 (got "9-3")
` + bad + `: line 3: rtp.latch: must be one of sdp, signalling, any (got "foo")
` + bad + `: line 5: lots[0].extension: is required (the number that parks, like "700")
` + bad + `: line 5: lots[0].slots: is required (a range like "701-720")
` + bad + `: line 6: lots[0].find_slot: must be one of first, next (got "random")
`
	unknown := writeFile(t, dir, "unknown.yaml", "defaults:\n  recal_after: 10s\n")

	for _, tc := range []struct {
		name           string
		files          []string
		stdout, stderr string
		code           int
	}{
		{"good", []string{good}, good + ": ok\n", "", 0},
		{"bad", []string{bad}, badProblems, "", 2},
		{"good and bad", []string{good, bad}, good + ": ok\n" + badProblems, "", 2},
		{"missing", []string{missing, good}, good + ": ok\n", "parkd config check: " + missing + ": no such file or directory\n", 2},
		{"unknown key", []string{unknown}, unknown + `: line 2: unknown key "recal_after" in defaults (did you mean "recall_after"?)` + "\n", "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runParkd(t, dir, append([]string{"config", "check"}, tc.files...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if stdout != tc.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tc.stdout)
			}
			if stderr != tc.stderr {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr, tc.stderr)
			}
		})
	}
}

// `parkd config example` prints a file that config check accepts and that
// reads back as the built-in defaults.
func TestConfigExample(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_STATE_HOME", "")
	example, stderr, code := runParkd(t, home, "config", "example")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	path := writeFile(t, home, "example.yaml", example)
	if out, stderr, code := runParkd(t, home, "config", "check", path); code != 0 || out != path+": ok\n" {
		t.Fatalf("config check of the example: exit %d\n%s%s", code, out, stderr)
	}
	cfg, err := parkd.ParseConfig([]byte(example))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := jsonOf(t, cfg), jsonOf(t, parkd.DefaultConfig()); got != want {
		t.Errorf("the example is not the defaults:\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(example, "courtesy_tone: false") || !strings.Contains(example, "# ") {
		t.Errorf("the example lacks lot keys or comments:\n%s", example)
	}
}

// `parkd config show` prints what serve would run: the defaults under the
// file under the flags, as a config file that reads back the same.
func TestConfigShow(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "parkd.yaml", `sip:
  listen: ["udp://127.0.0.1:5070"]
  parker_headers: [Diversion]
defaults: {recall_after: 2m}
lots:
  - name: front
    extension: "800"
    slots: "801-805"
    policy: {on_failure: hangup}
    slot_policies: {"801": {recall_after: 10s, ring_group: []}}
    prompts: {}
`)
	out, stderr, code := runParkd(t, dir, "config", "show", "--config", file,
		"--sip", "tcp://127.0.0.1:5090", "--rtp-ports", "30000-30099", "--api", "", "--data", filepath.Join(dir, "state"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, err := parkd.LoadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	want.SIP.Listen = []string{"tcp://127.0.0.1:5090"}
	want.RTP.Ports = "30000-30099"
	want.API.Listen = ""
	want.Data = filepath.Join(dir, "state")
	got, err := parkd.ParseConfig([]byte(out))
	if err != nil {
		t.Fatalf("config show's output is refused: %v\n%s", err, out)
	}
	if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
		t.Errorf("config show:\n%s\nreads back as\n%s\nwant\n%s", out, g, w)
	}
	for _, line := range []string{"- tcp://127.0.0.1:5090", "recall_after: 2m", "on_failure: hangup", "recall_after: 10s", "ring_group: []"} {
		if !strings.Contains(out, line) {
			t.Errorf("config show does not print %q:\n%s", line, out)
		}
	}

	// A bad flag is named, as serve names it.
	_, stderr, code = runParkd(t, dir, "config", "show", "--rtp-ports", "9-3")
	if code != 2 || !strings.Contains(stderr, "flag --rtp-ports") {
		t.Errorf("bad flag: exit %d, stderr %q", code, stderr)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
