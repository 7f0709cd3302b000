package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The startup log says in one line what this parkd serves.
func TestStartupLogSummarises(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "parkd.yaml")
	if err := os.WriteFile(config, []byte("lots:\n"+
		"  - {name: main, extension: '700', slots: 701-720}\n"+
		"  - {name: vip, extension: '800', slots: 801-805}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "state")
	port := freePort(t)
	sip := fmt.Sprintf("udp://127.0.0.1:%d", port)
	cmd := exec.Command(binary, "serve", "--config", config, "--sip", sip,
		"--rtp-ports", "45300-45399", "--api", "", "--data", data, "--log-format", "json")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	waitListening(t, &stderr, port)

	var started map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for started == nil {
		for _, line := range strings.Split(stderr.String(), "\n") {
			if strings.Contains(line, `"msg":"parkd started"`) {
				if err := json.Unmarshal([]byte(line), &started); err != nil {
					t.Fatalf("%v: %s", err, line)
				}
			}
		}
		if started == nil && time.Now().After(deadline) {
			t.Fatalf("no startup summary:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := map[string]any{
		"level": "INFO",
		"lots":  "main 701-720, vip 801-805",
		"slots": 25.0,
		"rtp":   "45300-45399",
		"data":  data,
		"moh":   "builtin",
		"api":   "off",
		"sip":   sip,
	}
	for k, v := range want {
		if started[k] != v {
			t.Errorf("%s = %#v, want %#v", k, started[k], v)
		}
	}
	if t.Failed() {
		t.Logf("line: %v", started)
	}
}
