package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

const reloadLots = `lots:
  - name: main
    extension: "700"
    slots: 701-703
    announce_slot: false
`

const reloadedLots = `lots:
  - name: main
    extension: "700"
    slots: 702-703
    announce_slot: false
  - name: sales
    extension: "800"
    slots: 801-802
`

// SIGHUP under systemd re-reads the config file with a parked call in a
// slot it removes: systemd hears RELOADING=1 then READY=1, the call stays
// (its slot retired) and hears music, the new lot is there. A broken file
// is refused by `parkd ctl reload` with the problem on stderr and exit 1,
// and the daemon runs on with the config it had.
func TestSIGHUPReloadsTheConfigFile(t *testing.T) {
	dir := t.TempDir()
	config := writeFile(t, dir, "parkd.yaml", reloadLots)
	socket := filepath.Join(dir, "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()

	sipPort := freePort(t)
	d := &ctlDaemon{api: "127.0.0.1:" + strconv.Itoa(freePort(t)), data: filepath.Join(dir, "state"), stderr: &lockedBuffer{}}
	cmd := exec.Command(binary, "serve", "--config", config, "--sip", fmt.Sprintf("udp://127.0.0.1:%d", sipPort),
		"--api", d.api, "--rtp-ports", "46600-46699", "--data", d.data)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+socket, "GORACE=atexit_sleep_ms=0")
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if ready := readNotify(t, notify, d.stderr); !hasLine(ready, "READY=1") {
		t.Fatalf("first message %q has no READY=1", ready)
	}

	alice := siptest.NewPhone(t, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	call, err := alice.Dial(ctx, fmt.Sprintf("sip:700@127.0.0.1:%d", sipPort), siptest.CallOptions{})
	if err != nil || call.Status() != 200 {
		t.Fatalf("parking alice: %v %d\n%s", err, call.Status(), d.stderr)
	}

	writeFile(t, dir, "parkd.yaml", reloadedLots)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if msg := readNotify(t, notify, d.stderr); !hasLine(msg, "RELOADING=1") || !strings.Contains(msg, "MONOTONIC_USEC=") {
		t.Fatalf("message after SIGHUP %q lacks RELOADING=1 and MONOTONIC_USEC", msg)
	}
	if msg := readNotify(t, notify, d.stderr); !hasLine(msg, "READY=1") {
		t.Fatalf("message after the reload %q has no READY=1", msg)
	}
	code, out, errOut := d.ctl(t, nil, "--json", "slots")
	if code != 0 {
		t.Fatalf("ctl slots: exit %d: %s", code, errOut)
	}
	var listed struct{ Slots []parkd.SlotView }
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range listed.Slots {
		names = append(names, s.Slot)
		if s.Slot == "701" && (!s.Retired || s.Call == nil) {
			t.Errorf("701 after the reload: %+v, want retired with alice's call", s)
		}
	}
	if got := strings.Join(names, " "); got != "702 703 801 802 701" {
		t.Errorf("slots after the reload: %s, want 702 703 801 802 701", got)
	}
	call.RTP.Drain()
	if _, err := call.RTP.Collect(ctx, 5, nil); err != nil {
		t.Fatalf("alice hears nothing after the reload: %v", err)
	}

	writeFile(t, dir, "parkd.yaml", "lots:\n  - name: main\n    extension: \"700\"\n    slots: 7x2-703\n")
	code, out, errOut = d.ctl(t, nil, "reload")
	if code != 1 || !strings.Contains(errOut, "lots[0].slots") || out != "" {
		t.Errorf("ctl reload of a broken file: exit %d, stdout %q, stderr %q; want 1 and the problem", code, out, errOut)
	}
	if !d.stderr.waitFor("config reload refused") {
		t.Errorf("the refused reload is not in the daemon's log:\n%s", d.stderr)
	}
	code, out, _ = d.ctl(t, nil, "lots")
	if code != 0 || !strings.Contains(out, "sales") {
		t.Errorf("lots after a refused reload (exit %d):\n%s", code, out)
	}

	writeFile(t, dir, "parkd.yaml", reloadedLots)
	code, out, errOut = d.ctl(t, nil, "reload")
	if code != 0 || !strings.Contains(out, "reloaded: lots main, sales") || !strings.Contains(out, "nothing changed") {
		t.Errorf("ctl reload of the same file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("parkd after SIGTERM: %v\n%s", err, d.stderr)
	}
}
