package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ctlDaemon is `parkd serve` with its API on a free port, for ctl to talk to.
type ctlDaemon struct {
	api, data string
	stderr    *lockedBuffer
}

func startCtlDaemon(t *testing.T) *ctlDaemon {
	t.Helper()
	d := &ctlDaemon{api: "127.0.0.1:" + strconv.Itoa(freePort(t)), data: t.TempDir(), stderr: &lockedBuffer{}}
	cmd := exec.Command(binary, "serve",
		"--api", d.api, "--data", d.data,
		"--sip", "udp://127.0.0.1:0", "--sip", "tcp://127.0.0.1:0",
		"--rtp-ports", "46000-46099", "--log-format", "json")
	cmd.Stderr = d.stderr
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

	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + d.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("parkd exited (%v) before its API answered:\n%s", err, d.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("parkd's /healthz did not answer 200 at %s:\n%s", d.api, d.stderr)
		}
	}
}

// ctl runs `parkd ctl --api … --data … args…` and returns its exit code.
func (d *ctlDaemon) ctl(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"ctl", "--api", "http://" + d.api, "--data", d.data}, args...)...)
	return runCmd(t, cmd, env)
}

func runCmd(t *testing.T, cmd *exec.Cmd, env []string) (int, string, string) {
	t.Helper()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// GORACE: the -race binary would otherwise sleep 1 s at every exit.
	cmd.Env = append(cmd.Environ(), "PARKD_TOKEN=", "PARKD_API=", "GORACE=atexit_sleep_ms=0")
	cmd.Env = append(cmd.Env, env...)
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("running %v: %v", cmd.Args, err)
	return 0, "", ""
}

// `parkd ctl` against a real daemon: the token from the data directory,
// tables and JSON, and the exit codes of usage and refusal.
// It needs the domain's Status, Lots and Slots (parkd.Server).
func TestCtlAgainstDaemon(t *testing.T) {
	d := startCtlDaemon(t)

	code, out, errOut := d.ctl(t, nil, "status")
	if code != 0 || !strings.Contains(out, "parkd ") || !strings.Contains(out, "701-720") {
		t.Errorf("status: exit %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = d.ctl(t, nil, "lots")
	if code != 0 || !regexpMatch(`(?m)^LOT\s+EXTENSION`, out) || !regexpMatch(`(?m)^main\s+700\s+`, out) {
		t.Errorf("lots: exit %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = d.ctl(t, nil, "slots", "--json")
	var slots struct {
		Slots []struct {
			Slot, Lot, State string
			Call             *json.RawMessage
		} `json:"slots"`
	}
	if err := json.Unmarshal([]byte(out), &slots); code != 0 || err != nil {
		t.Fatalf("slots --json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if len(slots.Slots) != 20 || slots.Slots[0].Slot != "701" || slots.Slots[0].State != "free" || slots.Slots[0].Lot != "main" {
		t.Errorf("slots --json: %+v", slots.Slots)
	}

	// The address from $PARKD_API instead of --api.
	cmd := exec.Command(binary, "ctl", "--data", d.data, "calls")
	if code, out, errOut := runCmd(t, cmd, []string{"PARKD_API=" + d.api}); code != 0 || !strings.HasPrefix(out, "ID") {
		t.Errorf("calls with PARKD_API: exit %d\n%s%s", code, out, errOut)
	}

	code, _, errOut = d.ctl(t, nil, "slots", "9999")
	if code != 2 || !strings.Contains(errOut, `"9999"`) {
		t.Errorf("slots 9999: exit %d, want 2\n%s", code, errOut)
	}

	code, out, errOut = d.ctl(t, nil, "--token", "wrong", "lots")
	if code != 1 || out != "" || !strings.HasPrefix(errOut, "parkd ctl: ") || !mentionsToken(errOut) {
		t.Errorf("wrong token: exit %d, want 1 with the 401 message\n%s%s", code, out, errOut)
	}
	code, _, errOut = d.ctl(t, []string{"PARKD_TOKEN=wrong"}, "lots")
	if code != 1 || !mentionsToken(errOut) {
		t.Errorf("wrong PARKD_TOKEN: exit %d\n%s", code, errOut)
	}
}

// These need no domain: a daemon that is not there, and no token at all.
func TestCtlWithoutDaemon(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	code, _, errOut := runCmd(t, exec.Command(binary, "ctl", "--api", addr, "--token", "x", "lots"), nil)
	want := fmt.Sprintf("parkd ctl: cannot reach parkd at http://%s: connection refused\n", addr)
	if code != 1 || errOut != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", code, errOut, want)
	}

	dir := t.TempDir()
	code, _, errOut = runCmd(t, exec.Command(binary, "ctl", "--api", addr, "--data", dir, "lots"), nil)
	if code != 2 || !strings.Contains(errOut, dir+"/token does not exist") {
		t.Errorf("no token: exit %d, stderr %q", code, errOut)
	}

	code, _, errOut = runCmd(t, exec.Command(binary, "ctl", "--api", "ftp://x", "--token", "x", "lots"), nil)
	if code != 2 || !strings.Contains(errOut, "--api") {
		t.Errorf("bad --api: exit %d, stderr %q", code, errOut)
	}
}

// The API listener is checked before the daemon runs: a taken address is
// a config error naming the flag.
func TestAPIAddressInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	out, err := exec.Command(binary, "serve", "--api", taken.Addr().String(), "--data", t.TempDir(),
		"--sip", "udp://127.0.0.1:0", "--rtp-ports", "46100-46199").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "flag --api") || !strings.Contains(string(out), taken.Addr().String()) {
		t.Errorf("message does not name the flag and address:\n%s", out)
	}
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

// mentionsToken: the daemon's 401 says the token is wrong, in its words.
func mentionsToken(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "token") || strings.Contains(s, "unauthorized")
}
