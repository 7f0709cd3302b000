package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Under systemd (Type=notify) parkd says READY=1 once SIP and the API
// are up, and STOPPING=1 as soon as SIGTERM starts the shutdown; then it
// exits 0.
func TestSystemdNotify(t *testing.T) {
	for _, abstract := range []bool{false, true} {
		t.Run(fmt.Sprintf("abstract=%v", abstract), func(t *testing.T) {
			dir := t.TempDir()
			socket := filepath.Join(dir, "notify")
			if abstract {
				socket = fmt.Sprintf("@parkd-test-%d-%d", os.Getpid(), time.Now().UnixNano())
			}
			conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: socket, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()

			port := freePort(t)
			cmd := exec.Command(binary, "serve", "--sip", fmt.Sprintf("udp://127.0.0.1:%d", port),
				"--api", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--rtp-ports", "45400-45499",
				"--data", filepath.Join(dir, "state"))
			cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+socket)
			var stderr lockedBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()

			ready := readNotify(t, conn, &stderr)
			if !hasLine(ready, "READY=1") {
				t.Fatalf("first message %q has no READY=1", ready)
			}
			wantStatus := fmt.Sprintf("STATUS=parking 20 slots, SIP on udp://127.0.0.1:%d", port)
			if !strings.Contains(ready, wantStatus) {
				t.Errorf("first message %q lacks %q", ready, wantStatus)
			}

			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if stopping := readNotify(t, conn, &stderr); !hasLine(stopping, "STOPPING=1") {
				t.Fatalf("message after SIGTERM %q has no STOPPING=1", stopping)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("parkd after SIGTERM: %v\n%s", err, stderr.String())
			}
		})
	}
}

// A NOTIFY_SOCKET nobody listens on costs one warning, not the daemon.
func TestSystemdNotifyUnreachable(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cmd := exec.Command(binary, "serve", "--sip", fmt.Sprintf("udp://127.0.0.1:%d", port),
		"--api", "", "--rtp-ports", "45500-45599", "--data", filepath.Join(dir, "state"))
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+filepath.Join(dir, "nobody"))
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	waitListening(t, &stderr, port)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("parkd after SIGTERM: %v\n%s", err, stderr.String())
	}
	if n := strings.Count(stderr.String(), "sd_notify failed"); n != 1 {
		t.Errorf("%d sd_notify warnings, want 1:\n%s", n, stderr.String())
	}
}

func readNotify(t *testing.T, conn *net.UnixConn, stderr *lockedBuffer) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no sd_notify message: %v\n%s", err, stderr.String())
	}
	return string(buf[:n])
}

func hasLine(msg, line string) bool {
	for _, l := range strings.Split(msg, "\n") {
		if l == line {
			return true
		}
	}
	return false
}
