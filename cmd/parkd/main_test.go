package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/siptest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "parkd-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "parkd")
	build := exec.Command("go", "build", "-race", "-o", binary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building parkd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer collects a process's stderr while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor reports whether the output comes to contain want within 5 s: a
// process's log line reaches the pipe a moment after its API has answered.
func (b *lockedBuffer) waitFor(want string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(b.String(), want) {
			return true
		}
	}
	return false
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", l.Addr().String())
	if err != nil {
		return freePort(t)
	}
	u.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Exit codes and messages for bad usage and bad configs name the culprit.
func TestUsageAndConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"serve", "--bogus"}, 2, "bogus"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"bad sip flag", []string{"serve", "--sip", "sctp://127.0.0.1:5060"}, 2, "--sip"},
		{"bad rtp flag", []string{"serve", "--rtp-ports", "9-3"}, 2, "--rtp-ports"},
		{"bad log format", []string{"serve", "--log-format", "xml"}, 2, "--log-format"},
		{"missing config", []string{"serve", "--config", filepath.Join(dir, "nope.yaml")}, 2, "nope.yaml"},
		{"unknown key", []string{"serve", "--config", write("a.yaml", "defaults:\n  recal_after: 10s\n")}, 2, "recal_after"},
		{"bad enum", []string{"serve", "--config", write("b.yaml", "lots:\n  - {name: main, extension: '700', slots: 701-720, find_slot: random}\n")}, 2, "find_slot"},
		{"unreadable moh", []string{"serve", "--sip", "udp://127.0.0.1:0", "--config", write("c.yaml", "moh: "+filepath.Join(dir, "missing.wav")+"\n")}, 2, "moh"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(binary, tc.args...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tc.code {
				t.Fatalf("exit %v, want %d; output:\n%s", err, tc.code, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output does not name %q:\n%s", tc.want, out)
			}
		})
	}
}

// A SIP port already taken is a runtime error: exit 1 with the address.
func TestPortInUseExits1(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	out, err := exec.Command(binary, "serve", "--sip", "udp://"+taken.LocalAddr().String(), "--data", t.TempDir()).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), taken.LocalAddr().String()) {
		t.Errorf("message does not name the address:\n%s", out)
	}
}

// SIGTERM with calls up: every call gets a BYE and parkd exits 0 within 5 s.
func TestSIGTERMHangsUpCalls(t *testing.T) {
	port := freePort(t)
	rtpLow := 45000
	cmd := exec.Command(binary, "serve",
		"--sip", fmt.Sprintf("udp://127.0.0.1:%d", port),
		"--sip", fmt.Sprintf("tcp://127.0.0.1:%d", port),
		"--rtp-ports", fmt.Sprintf("%d-%d", rtpLow, rtpLow+99),
		"--api", "127.0.0.1:0", // not the default 7080, which another daemon may hold
		"--data", t.TempDir(), "--log-format", "json")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitListening(t, &stderr, port)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	udpPhone := siptest.NewPhone(t, "alice")
	tcpPhone := siptest.NewPhone(t, "bob", siptest.WithTCP())
	calls := []*siptest.Call{}
	for _, target := range []struct {
		p   *siptest.Phone
		uri string
	}{
		{udpPhone, fmt.Sprintf("sip:700@127.0.0.1:%d", port)},
		{tcpPhone, fmt.Sprintf("sip:700@127.0.0.1:%d;transport=tcp", port)},
	} {
		c, err := target.p.Dial(ctx, target.uri, siptest.CallOptions{})
		if err != nil || c.Status() != 200 {
			t.Fatalf("park over %s: %v %d\n%s", target.p.Transport, err, c.Status(), stderr.String())
		}
		calls = append(calls, c)
	}

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if _, err := c.WaitHangup(ctx); err != nil {
			t.Errorf("no BYE on SIGTERM: %v", err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("parkd exited with %v after SIGTERM\n%s", err, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("parkd still running 5 s after SIGTERM\n%s", stderr.String())
	}
	t.Logf("stopped in %v", time.Since(start).Round(time.Millisecond))

	// Every log line about a call names it.
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, `"msg":"call parked"`) && (!strings.Contains(line, `"call_id"`) || !strings.Contains(line, `"slot"`)) {
			t.Errorf("call log line without call_id and slot: %s", line)
		}
	}
}

func waitListening(t *testing.T, stderr *lockedBuffer, port int) {
	t.Helper()
	want := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(stderr.String(), want) && strings.Contains(stderr.String(), "listening") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("parkd did not start listening on %s:\n%s", want, stderr.String())
}
