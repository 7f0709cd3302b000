package interop

import (
	"bytes"
	"errors"
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
)

// The daemon under test: a real parkd binary, built once by TestMain, run
// on free loopback ports for each test and stopped with SIGTERM.

// rtpPorts is the daemon's RTP range in these tests: away from parkd's
// default 20000-20999 so a developer's running daemon does not clash.
const rtpPorts = "42000-42999"

var (
	parkdBin    string // built by TestMain; "" when sipp is missing
	sippBin     string // from PATH
	raceEnabled bool   // set by race_test.go: the daemon is then built with -race too
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	if sippBin, err = exec.LookPath("sipp"); err != nil {
		// Every test skips; building the daemon would be wasted time.
		return m.Run()
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "parkd-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	parkdBin = filepath.Join(dir, "parkd")
	args := []string{"build", "-o", parkdBin}
	if raceEnabled {
		// Interop traffic is a good race detector workload; a race in the
		// daemon makes it exit 66 at SIGTERM, which the tests report.
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/parkd")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "interop: go %s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, out)
		return 1
	}
	return m.Run()
}

// moduleRoot walks up from the working directory (the package directory
// under go test) to the directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func requireSipp(t *testing.T) {
	t.Helper()
	if sippBin == "" {
		t.Skip("sipp not installed: apt-get install sip-tester")
	}
}

// daemon is one running parkd.
type daemon struct {
	cmd     *exec.Cmd
	sipPort int
	logPath string
	exited  chan struct{} // closed when the process has been waited for
	waitErr error
}

// startDaemon runs parkd on a free SIP port (UDP and TCP), waits until it
// answers OPTIONS, and stops it when the test ends, failing the test if it
// does not exit 0 or its log shows a data race or panic.
func startDaemon(t *testing.T) *daemon {
	t.Helper()
	requireSipp(t)
	dir := t.TempDir()
	port := freeSIPPort(t)
	d := &daemon{sipPort: port, logPath: filepath.Join(dir, "parkd.log"), exited: make(chan struct{})}
	logFile, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	sip := "127.0.0.1:" + strconv.Itoa(port)
	d.cmd = exec.Command(parkdBin, "serve",
		"--sip", "udp://"+sip, "--sip", "tcp://"+sip,
		"--rtp-ports", rtpPorts,
		"--api", "127.0.0.1:0",
		"--data", filepath.Join(dir, "data"),
		"--log-format", "text", "--log-level", "debug")
	d.cmd.Stdout = logFile
	d.cmd.Stderr = logFile
	if err := d.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting parkd: %v", err)
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		logFile.Close()
		close(d.exited)
	}()
	t.Cleanup(func() { d.stop(t) })
	if err := d.waitReady(15 * time.Second); err != nil {
		t.Fatalf("parkd did not come up: %v\n%s", err, d.logTail(60))
	}
	return d
}

// sipAddr is host:port of the daemon's SIP listeners.
func (d *daemon) sipAddr() string { return "127.0.0.1:" + strconv.Itoa(d.sipPort) }

// waitReady sends OPTIONS over UDP until parkd answers 200, and checks the
// TCP listener accepts connections.
func (d *daemon) waitReady(timeout time.Duration) error {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	defer conn.Close()
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: d.sipPort}
	local := conn.LocalAddr().String()
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 4096)
	for i := 1; time.Now().Before(deadline); i++ {
		select {
		case <-d.exited:
			return fmt.Errorf("parkd exited: %v", d.waitErr)
		default:
		}
		req := fmt.Sprintf("OPTIONS sip:parkd@%s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-ready-%d-%d\r\n"+
			"Max-Forwards: 70\r\n"+
			"From: <sip:interop@127.0.0.1>;tag=ready%d\r\n"+
			"To: <sip:parkd@%s>\r\n"+
			"Call-ID: ready-%d-%d@127.0.0.1\r\n"+
			"CSeq: %d OPTIONS\r\n"+
			"Content-Length: 0\r\n\r\n",
			d.sipAddr(), local, os.Getpid(), i, i, d.sipAddr(), os.Getpid(), i, i)
		if _, err := conn.WriteToUDP([]byte(req), to); err != nil {
			return err
		}
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil || !bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200 ")) {
			continue
		}
		c, err := net.DialTimeout("tcp", d.sipAddr(), time.Second)
		if err != nil {
			return fmt.Errorf("UDP answers but TCP does not: %v", err)
		}
		c.Close()
		return nil
	}
	return fmt.Errorf("no 200 to OPTIONS on udp://%s within %s", d.sipAddr(), timeout)
}

// stop sends SIGTERM and expects a clean exit (status 0) within parkd's
// shutdown grace, plus a log free of data races and panics.
func (d *daemon) stop(t *testing.T) {
	select {
	case <-d.exited:
		t.Errorf("parkd exited before the test ended: %v\n%s", d.waitErr, d.logTail(80))
		return
	default:
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM to parkd: %v", err)
	}
	select {
	case <-d.exited:
	case <-time.After(15 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		t.Errorf("parkd did not exit within 15s of SIGTERM\n%s", d.logTail(80))
		return
	}
	if d.waitErr != nil {
		t.Errorf("parkd did not exit 0 after SIGTERM: %v\n%s", d.waitErr, d.logTail(80))
		return
	}
	log := d.log()
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:"} {
		if strings.Contains(log, bad) {
			t.Errorf("parkd log contains %q\n%s", bad, d.logTail(200))
			return
		}
	}
	// A clean interop run logs no errors: each one is a daemon bug, or
	// something the daemon thinks went wrong on the wire.
	var errs []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, " level=ERROR ") {
			errs = append(errs, line)
		}
	}
	if len(errs) > 0 {
		t.Errorf("parkd logged %d error(s) during the test:\n%s", len(errs), tail(strings.Join(errs, "\n"), 20))
	}
	if os.Getenv("PARKD_INTEROP_DUMP") != "" { // PARKD_INTEROP_DUMP=1 go test -v: see every log
		t.Logf("parkd log:\n%s", log)
	}
	if !strings.Contains(log, "parkd stopped") {
		t.Errorf("parkd exited 0 without logging \"parkd stopped\"\n%s", d.logTail(40))
	}
}

func (d *daemon) log() string {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		return fmt.Sprintf("(reading parkd log: %v)", err)
	}
	return string(b)
}

// logTail is the end of parkd's log, for failure messages (nil: a test
// of sipp against sipp).
func (d *daemon) logTail(lines int) string {
	if d == nil {
		return "(no parkd in this test)"
	}
	return "--- parkd log (" + d.logPath + ", last lines) ---\n" + tail(d.log(), lines)
}

func tail(s string, lines int) string {
	s = strings.TrimRight(s, "\n")
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = append([]string{fmt.Sprintf("[... %d lines cut ...]", len(parts)-lines)}, parts[len(parts)-lines:]...)
	}
	return strings.Join(parts, "\n")
}

// freeSIPPort finds a loopback port free for both UDP and TCP, outside
// the daemon's RTP range.
func freeSIPPort(t *testing.T) int {
	t.Helper()
	for range 100 {
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		if inRTPRange(port) {
			u.Close()
			continue
		}
		l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		u.Close()
		if err != nil {
			continue
		}
		l.Close()
		return port
	}
	t.Fatal("no free UDP+TCP port pair on 127.0.0.1")
	return 0
}

// freeMediaPort finds an even UDP port p with p+2 also free, for sipp's
// -mp (sipp binds the audio and video echo ports there even when it does
// not echo).
func freeMediaPort(t *testing.T) int {
	t.Helper()
	for range 100 {
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		if port%2 != 0 || port+2 > 65535 || inRTPRange(port) || inRTPRange(port+2) {
			u.Close()
			continue
		}
		v, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port + 2})
		u.Close()
		if err != nil {
			continue
		}
		v.Close()
		return port
	}
	t.Fatal("no free UDP port pair for sipp's media ports")
	return 0
}

func inRTPRange(port int) bool {
	lo, hi, _ := strings.Cut(rtpPorts, "-")
	l, _ := strconv.Atoi(lo)
	h, _ := strconv.Atoi(hi)
	return port >= l && port <= h
}
