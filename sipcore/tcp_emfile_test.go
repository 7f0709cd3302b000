package sipcore

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/media"
)

// emfileChildEnv, set, makes TestTCPEMFILEChild run an endpoint whose
// process may open only that many more descriptors.
const emfileChildEnv = "PARKD_SIPCORE_EMFILE_CHILD"

// TestTCPAcceptSurvivesEMFILE runs an endpoint in a child process with a
// low RLIMIT_NOFILE, opens connections until its accept fails with EMFILE,
// closes them, and expects OPTIONS over TCP to be answered again; sipgo
// alone stops accepting for good at the first error.
func TestTCPAcceptSurvivesEMFILE(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	child := exec.Command(os.Args[0], "-test.run=^TestTCPEMFILEChild$", "-test.count=1")
	child.Env = append(os.Environ(), emfileChildEnv+"=12")
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	child.Stderr = logs
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	defer func() {
		stdin.Close() // the child shuts down when its stdin ends
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			child.Process.Kill()
			<-exited
			t.Errorf("child did not exit; its log:\n%s", logs)
		}
	}()

	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "LISTEN "); ok {
				listening <- addr
			}
		}
	}()
	var addr string
	select {
	case addr = <-listening:
	case err := <-exited:
		t.Fatalf("child exited: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("child never listened; its log:\n%s", logs)
	}

	// More connections than the child has descriptors: the kernel completes
	// them all, the child's accept runs out.
	var conns []net.Conn
	for i := 0; i < 40; i++ {
		c, err := tryDial("127.0.0.1", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	eventually(t, "the child's accept to fail", func() bool {
		return strings.Contains(logs.String(), "sip tcp accept failed")
	})
	for _, c := range conns {
		c.Close()
	}

	// The listener recovers by itself once descriptors are free again.
	deadline := time.Now().Add(8 * time.Second)
	for {
		c, err := tryDial("127.0.0.1", addr)
		status := ""
		if err == nil {
			status = optionsStatus(t, c)
			c.Close()
		}
		if status == "SIP/2.0 200 OK" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 200 to OPTIONS after the EMFILE storm (last: %q, %v); child log:\n%s", status, err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var errLine string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "sip tcp accept failed") {
			errLine = line
			break
		}
	}
	if !strings.Contains(errLine, "level=ERROR") || !strings.Contains(errLine, "too many open files") {
		t.Errorf("accept failure logged as %q, want an ERROR naming EMFILE", errLine)
	}
	if n := strings.Count(logs.String(), "sip tcp accept failed"); n > 10 {
		t.Errorf("accept failure logged %d times: want at most one line a second", n)
	}
}

// TestTCPEMFILEChild is the child process of TestTCPAcceptSurvivesEMFILE:
// an endpoint on 127.0.0.1 whose RLIMIT_NOFILE leaves it $emfileChildEnv
// descriptors beyond those already open. It prints "LISTEN host:port" and
// serves until its stdin ends.
func TestTCPEMFILEChild(t *testing.T) {
	spare, err := strconv.Atoi(os.Getenv(emfileChildEnv))
	if err != nil {
		t.Skip("the child process of TestTCPAcceptSurvivesEMFILE")
	}
	rtp, err := media.NewAllocator(netip.MustParseAddr("127.0.0.1"), 43100, 43199)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rtp.Close) // its kept sockets hold ports other tests use
	ep, err := NewEndpoint(Config{
		Listen: []ListenAddr{{"tcp", "127.0.0.1:0"}},
		RTP:    rtp,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Settings: Settings{
			Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		},
	}, &tcpHandler{calls: make(chan *Call, 4)})
	if err != nil {
		t.Fatal(err)
	}
	open, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	rl.Cur = uint64(len(open) + spare)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("LISTEN " + ep.Addrs()[0].Addr + "\n")
	io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ep.Shutdown(ctx)
}
