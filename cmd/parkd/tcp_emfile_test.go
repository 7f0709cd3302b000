package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/siptest"
)

// The daemon run with few file descriptors (ulimit -n) keeps its SIP TCP
// listener through an EMFILE storm: it logs the failed accepts at ERROR,
// answers OPTIONS over TCP again once the storm's connections are gone,
// and a call parked over TCP before the storm keeps its music.
func TestTCPListenerSurvivesEMFILE(t *testing.T) {
	port := freePort(t)
	cmd := exec.Command("sh", "-c", fmt.Sprintf(
		"ulimit -n 128 && exec %s serve --sip tcp://127.0.0.1:%d --rtp-ports 46700-46799 --api 127.0.0.1:0 --data %s",
		shellQuote(binary), port, shellQuote(t.TempDir())))
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	waitListening(t, &stderr, port)
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	// A call parked over TCP before the storm.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	phone := siptest.NewPhone(t, "alice", siptest.WithTCP())
	call, err := phone.Dial(ctx, fmt.Sprintf("sip:700@%s;transport=tcp", addr), siptest.CallOptions{})
	if err != nil || call.Status() != 200 {
		t.Fatalf("park over TCP: %v\n%s", err, stderr.String())
	}

	// More connections than parkd has descriptors left.
	var conns []net.Conn
	for i := 0; i < 160; i++ {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "sip tcp accept failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no failed accept logged with 160 connections open:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range conns {
		c.Close()
	}

	deadline = time.Now().Add(10 * time.Second)
	for {
		status, err := tcpOptions(addr)
		if status == "SIP/2.0 200 OK" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 200 to OPTIONS over TCP after the storm (%q, %v):\n%s", status, err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The parked call still hears its music and hangs up over its own
	// connection.
	call.RTP.Drain()
	rtpCtx, rtpCancel := context.WithTimeout(ctx, 3*time.Second)
	defer rtpCancel()
	if _, err := call.RTP.Collect(rtpCtx, 25, nil); err != nil {
		t.Errorf("parked call's music after the storm: %v", err)
	}
	if res, err := call.Hangup(ctx); err != nil || res.StatusCode != 200 {
		t.Errorf("BYE after the storm: %v %v", res, err)
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "sip tcp accept failed") {
			if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, "too many open files") {
				t.Errorf("accept failure logged as %q, want an ERROR naming EMFILE", line)
			}
			break
		}
	}
}

// tcpOptions sends one OPTIONS over a new TCP connection and returns the
// answer's status line.
func tcpOptions(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	local := c.LocalAddr().String()
	req := fmt.Sprintf("OPTIONS sip:700@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP %s;branch=z9hG4bK-emfile-%d\r\n"+
		"From: <sip:probe@%s>;tag=emfile\r\nTo: <sip:700@%s>\r\n"+
		"Call-ID: emfile-%d@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		addr, local, time.Now().UnixNano(), local, addr, time.Now().UnixNano())
	if _, err := io.WriteString(c, req); err != nil {
		return "", err
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}
