package main

import (
	"context"
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

// serveProc is one `parkd serve` subprocess on data, with SIP on a known
// UDP port so a phone can call it.
type serveProc struct {
	cmd    *exec.Cmd
	api    string
	sip    string
	data   string
	stderr *lockedBuffer
	exited chan error    // its exit, once
	done   chan struct{} // closed when it has exited
}

func startServe(t *testing.T, data string, rtp string) *serveProc {
	t.Helper()
	p := &serveProc{
		api:    "127.0.0.1:" + strconv.Itoa(freePort(t)),
		sip:    "127.0.0.1:" + strconv.Itoa(freePort(t)),
		data:   data,
		stderr: &lockedBuffer{},
		exited: make(chan error, 1),
		done:   make(chan struct{}),
	}
	p.cmd = exec.Command(binary, "serve", "--api", p.api, "--data", data,
		"--sip", "udp://"+p.sip, "--rtp-ports", rtp, "--log-format", "json")
	p.cmd.Stderr = p.stderr
	p.cmd.Env = append(p.cmd.Environ(), fastExit()...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.exited <- p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			t.Errorf("parkd still running 10 s after SIGTERM")
		}
	})
	waitHealthy(t, "http://"+p.api, p.exited, p.stderr)
	return p
}

// A second parkd on a data directory in use refuses to start, exit 1,
// naming the process that has it, and leaves the first one's token alone.
func TestSecondDaemonOnSameDataRefuses(t *testing.T) {
	first := startServe(t, t.TempDir(), "46600-46619")
	token, err := os.ReadFile(filepath.Join(first.data, "token"))
	if err != nil {
		t.Fatal(err)
	}
	// Bounded: a parkd that wrongly starts would otherwise run forever.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, _, errOut := runCmd(t, exec.CommandContext(ctx, binary, "serve", "--data", first.data,
		"--api", "127.0.0.1:"+strconv.Itoa(freePort(t)), "--sip", "udp://127.0.0.1:0", "--rtp-ports", "46620-46639"), nil)
	if code != exitRuntime {
		t.Errorf("second parkd exited %d, want %d\n%s", code, exitRuntime, errOut)
	}
	want := fmt.Sprintf("in use by another parkd (pid %d: ", first.cmd.Process.Pid)
	if !strings.Contains(errOut, want) || !strings.Contains(errOut, "serve --api "+first.api) {
		t.Errorf("stderr %q does not name the first parkd (%q and its command line)", errOut, want)
	}
	if again, _ := os.ReadFile(filepath.Join(first.data, "token")); string(again) != string(token) {
		t.Error("the refused parkd rewrote the running one's API token")
	}
}

// kill -9 with a call parked: the next start is not blocked by the dead
// process's lock, and the history closes that call as lost.
func TestRestartAfterKillClosesLostCalls(t *testing.T) {
	data := t.TempDir()
	first := startServe(t, data, "46640-46659")
	alice := siptest.NewPhone(t, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	call, err := alice.Dial(ctx, "sip:700@"+first.sip, siptest.CallOptions{})
	if err != nil || call.Status() != 200 {
		t.Fatalf("parking: %v %d", err, call.Status())
	}
	d := &ctlDaemon{api: first.api, data: data}
	waitHistory(t, d, call.CallID(), "parked")
	first.cmd.Process.Kill() // SIGKILL: no BYE, no history row for the end
	select {
	case <-first.done:
	case <-time.After(10 * time.Second):
		t.Fatal("parkd still running 10 s after SIGKILL")
	}

	second := startServe(t, data, "46660-46679")
	d.api = second.api
	rows := waitHistory(t, d, call.CallID(), "lost")
	if rows[0].Slot != "701" || !strings.Contains(rows[0].Detail, "killed or crashed") {
		t.Errorf("lost row %+v, want slot 701 and a detail that says why", rows[0])
	}
	if !strings.Contains(second.stderr.String(), "closed as lost") {
		t.Errorf("the restarted parkd did not log the lost call:\n%s", second.stderr)
	}
}

type historyRow struct {
	CallID  string `json:"call_id"`
	Slot    string `json:"slot"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
}

// waitHistory waits until the newest history row of callID has outcome,
// through `parkd ctl history --json`.
func waitHistory(t *testing.T, d *ctlDaemon, callID, outcome string) []historyRow {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, out, errOut := d.ctl(t, nil, "history", "--json")
		if code != 0 {
			t.Fatalf("ctl history: exit %d: %s", code, errOut)
		}
		var page struct{ Entries []historyRow }
		if err := json.Unmarshal([]byte(out), &page); err != nil {
			t.Fatalf("ctl history --json: %v\n%s", err, out)
		}
		var mine []historyRow
		for _, r := range page.Entries {
			if r.CallID == callID {
				mine = append(mine, r)
			}
		}
		if len(mine) > 0 && mine[0].Outcome == outcome {
			return mine
		}
		if time.Now().After(deadline) {
			t.Fatalf("history of %s is %+v, want the newest row %s", callID, mine, outcome)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
