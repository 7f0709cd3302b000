package parkd_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
)

// sipp (Debian package sip-tester) answers parkd's 401 with its own MD5
// digest ([authentication] in testdata/sipp_auth_invite.xml) against a
// users_file in htdigest format, and parks. Skipped without sipp.
func TestSippDigestAuthParks(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Skip("sipp not installed: apt-get install sip-tester")
	}
	users := filepath.Join(t.TempDir(), "users.htdigest")
	line := "sipp:" + parkd.DefaultAuthRealm + ":" + md5HA1("sipp", parkd.DefaultAuthRealm, "sipp-secret") + "\n"
	if err := os.WriteFile(users, []byte("other:elsewhere:0123456789abcdef0123456789abcdef\n"+line), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, func(c *parkd.Config) { c.SIP.Auth.UsersFile = users })
	scenario, err := filepath.Abs("testdata/sipp_auth_invite.xml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, "-sf", scenario, "-s", "700", "-t", "u1",
		"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)), "-mp", strconv.Itoa(freeUDPPort(t)),
		// sipp's digest uri is host:port unless told; parkd wants the Request-URI.
		"-auth_uri", "700@"+d.udp,
		"-m", "1", "-l", "1", "-d", "1500", "-nostdin", "-timeout", "15s", "-timeout_error",
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"),
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		d.udp)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	d.waitEvent(parkd.EventParked, "701")
	if v := d.slot("701"); v.State != parkd.SlotParked {
		t.Errorf("slot 701 is %s while sipp is in the call, want parked", v.State)
	}
	if err := <-done; err != nil {
		msgs, _ := os.ReadFile(filepath.Join(dir, "messages.log"))
		errs, _ := os.ReadFile(filepath.Join(dir, "errors.log"))
		t.Fatalf("sipp failed: %v\n%s\nerrors:\n%s\nmessages:\n%s", err, out.String(), errs, msgs)
	}
	msgs, _ := os.ReadFile(filepath.Join(dir, "messages.log"))
	if !bytes.Contains(msgs, []byte("SIP/2.0 401 Unauthorized")) || !bytes.Contains(msgs, []byte("Authorization: Digest")) {
		t.Errorf("sipp's trace shows no 401 answered with credentials:\n%s", msgs)
	}
	d.waitEvent(parkd.EventAbandoned, "701")
}

// freeUDPPort is a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
