package sipcore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/media"
	"github.com/parkd/parkd/sipcore/presence"
	"github.com/parkd/parkd/sipcore/siptest"
)

// tcpHandler answers every INVITE and hands the call to the test; only
// slot 701 can be watched.
type tcpHandler struct{ calls chan *Call }

func (h *tcpHandler) HandleInvite(ctx context.Context, inv *Invite) {
	c, err := inv.Answer()
	if err == nil {
		h.calls <- c
	}
}
func (h *tcpHandler) CallEnded(*Call, EndReason) {}
func (h *tcpHandler) ResolveSubscription(req *SubscribeRequest) (string, bool) {
	return "slot:" + req.Target, req.Target == "701"
}
func (h *tcpHandler) SubscriptionsChanged(string) {}

// logBuffer collects an endpoint's log lines for a test to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTCPEndpoint starts an endpoint with one TCP listener on 127.0.0.1.
func newTCPEndpoint(t *testing.T, limits TCPLimits, allow ...string) (*Endpoint, *tcpHandler, *logBuffer) {
	t.Helper()
	rtp, err := media.NewAllocator(netip.MustParseAddr("127.0.0.1"), 43000, 43099)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rtp.Close) // its kept sockets hold ports other tests use
	if allow == nil {
		allow = []string{"127.0.0.0/8"}
	}
	var prefixes []netip.Prefix
	for _, a := range allow {
		prefixes = append(prefixes, netip.MustParsePrefix(a))
	}
	logs := &logBuffer{}
	h := &tcpHandler{calls: make(chan *Call, 4)}
	ep, err := NewEndpoint(Config{
		Listen: []ListenAddr{{"tcp", "127.0.0.1:0"}},
		RTP:    rtp,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		TCP:    limits,
		Settings: Settings{
			Allow: prefixes,
		},
	}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		ep.Shutdown(ctx)
	})
	return ep, h, logs
}

// dialFrom opens a TCP connection to addr from the loopback address from.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	c, err := tryDial(from, addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func tryDial(from, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	return d.Dial("tcp", addr)
}

// expectRefused connects from the address from and expects parkd to close
// the connection at once, answering nothing to an OPTIONS.
func expectRefused(t *testing.T, from, addr string) {
	t.Helper()
	c, err := tryDial(from, addr)
	if errors.Is(err, syscall.ECONNRESET) {
		return // reset before the handshake was even seen through
	}
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, from, err)
	}
	defer c.Close()
	io.WriteString(c, rawOptions(c)) // may fail: the reset can come first
	expectClosed(t, c, 3*time.Second)
}

var tcpOptionsSeq int

// rawOptions is an out-of-dialog OPTIONS as a phone on c would send it.
func rawOptions(c net.Conn) string {
	tcpOptionsSeq++
	local := c.LocalAddr().String()
	return fmt.Sprintf("OPTIONS sip:701@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP %s;branch=z9hG4bK-tcp-%d\r\n"+
		"From: <sip:probe@%s>;tag=t%d\r\n"+
		"To: <sip:701@%s>\r\n"+
		"Call-ID: tcp-%d@test\r\n"+
		"CSeq: 1 OPTIONS\r\n"+
		"Max-Forwards: 70\r\n"+
		"Content-Length: 0\r\n\r\n",
		c.RemoteAddr(), local, tcpOptionsSeq, local, tcpOptionsSeq, c.RemoteAddr(), tcpOptionsSeq)
}

// optionsStatus sends an OPTIONS on c and returns the status line of the
// answer.
func optionsStatus(t *testing.T, c net.Conn) string {
	t.Helper()
	if _, err := io.WriteString(c, rawOptions(c)); err != nil {
		t.Fatalf("writing OPTIONS: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "no answer: " + err.Error()
	}
	return strings.TrimSpace(line)
}

// expectClosed waits for parkd to close c, and fails if anything at all
// was sent on it first.
func expectClosed(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	got, err := io.ReadAll(c)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("connection from %s still open after %s", c.LocalAddr(), within)
	case len(got) > 0:
		t.Fatalf("connection from %s got %q before it was closed", c.LocalAddr(), got)
	}
	// io.ReadAll's nil (EOF) or a reset: closed either way.
}

func reasonCounts(rc []ReasonCount) map[string]uint64 {
	m := map[string]uint64{}
	for _, r := range rc {
		m[r.Reason] = r.Count
	}
	return m
}

func TestTCPRefusesSourceOutsideAllow(t *testing.T) {
	ep, _, logs := newTCPEndpoint(t, TCPLimits{}, "127.0.0.1/32")
	addr := ep.Addrs()[0].Addr

	expectRefused(t, "127.0.0.2", addr)

	if got := optionsStatus(t, dialFrom(t, "127.0.0.1", addr)); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS from inside sip.allow: %q", got)
	}
	st := ep.Stats()
	if got := reasonCounts(st.TCP.Refused); got[TCPNotAllowed] != 1 || len(got) != 1 {
		t.Errorf("refused %v, want not_allowed 1", got)
	}
	if got := requestCounts(st)["OPTIONS"]; got != 1 {
		t.Errorf("%d OPTIONS reached parkd, want only the allowed one", got)
	}
	if !strings.Contains(logs.String(), "sip tcp connection refused") {
		t.Errorf("refusal not logged:\n%s", logs)
	}
}

func TestTCPConnectionLimits(t *testing.T) {
	ep, _, _ := newTCPEndpoint(t, TCPLimits{MaxConnections: 3, MaxPerSource: 2})
	addr := ep.Addrs()[0].Addr

	first := dialFrom(t, "127.0.0.1", addr)
	for _, c := range []net.Conn{first, dialFrom(t, "127.0.0.1", addr)} {
		if got := optionsStatus(t, c); got != "SIP/2.0 200 OK" {
			t.Fatalf("OPTIONS within the limits: %q", got)
		}
	}
	expectRefused(t, "127.0.0.1", addr) // a third from one IP

	if got := optionsStatus(t, dialFrom(t, "127.0.0.2", addr)); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS from another IP: %q", got)
	}
	expectRefused(t, "127.0.0.3", addr) // a fourth in all

	// A closed connection frees its place.
	first.Close()
	eventually(t, "the closed connection to be released", func() bool { return ep.Stats().TCP.Open == 2 })
	if got := optionsStatus(t, dialFrom(t, "127.0.0.1", addr)); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS after a connection closed: %q", got)
	}
	st := ep.Stats().TCP
	if got := reasonCounts(st.Refused); got[TCPMaxPerSource] != 1 || got[TCPMaxConnections] != 1 || len(got) != 2 {
		t.Errorf("refused %v, want max_per_source 1, max_connections 1", got)
	}
	if st.Open != 3 {
		t.Errorf("%d open, want 3", st.Open)
	}
}

func TestTCPIdleConnectionClosedUnlessADialogUsesIt(t *testing.T) {
	const idle = 300 * time.Millisecond
	ep, h, _ := newTCPEndpoint(t, TCPLimits{IdleTimeout: idle})
	addr := ep.Addrs()[0].Addr
	uri := func(user string) string { return "sip:" + user + "@" + addr + ";transport=tcp" }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ep.Publish("slot:701", EventDialog, presence.DialogInfoBody("sip:701@"+addr, nil))

	watcher := siptest.NewPhone(t, "watcher", siptest.WithTCP())
	sub, err := watcher.Subscribe(ctx, uri("701"), siptest.SubscribeOptions{Expires: 600})
	if err != nil || sub.Status() != 200 {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	if _, err := sub.Next(ctx); err != nil {
		t.Fatal(err)
	}
	caller := siptest.NewPhone(t, "caller", siptest.WithTCP())
	phoneCall, err := caller.Dial(ctx, uri("700"), siptest.CallOptions{})
	if err != nil || phoneCall.Status() != 200 {
		t.Fatalf("INVITE: %v", err)
	}
	call := receive(t, h.calls, "the answered call")

	silent := dialFrom(t, "127.0.0.1", addr)
	if got := optionsStatus(t, silent); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS: %q", got)
	}
	expectClosed(t, silent, 10*idle)

	// Several idle timeouts later the dialogs' connections still carry
	// parkd's requests: a NOTIFY and a BYE reach the phones.
	time.Sleep(3 * idle)
	ep.Publish("slot:701", EventDialog, presence.DialogInfoBody("sip:701@"+addr,
		[]presence.Dialog{{ID: "x", State: "confirmed"}}))
	if n, err := sub.Next(ctx); err != nil || !bytes.Contains(n.Body, []byte("confirmed")) {
		t.Fatalf("NOTIFY after idle timeouts: %v %v", n, err)
	}
	go call.Hangup(ctx, "test")
	if _, err := phoneCall.WaitHangup(ctx); err != nil {
		t.Fatalf("BYE after idle timeouts: %v", err)
	}
	if got := reasonCounts(ep.Stats().TCP.Closed); got[TCPIdle] != 1 || len(got) != 1 {
		t.Errorf("closed %v, want idle 1 (the silent connection alone)", got)
	}
}

func TestTCPSlowMessageClosed(t *testing.T) {
	const timeout = 600 * time.Millisecond
	ep, _, logs := newTCPEndpoint(t, TCPLimits{MessageTimeout: timeout})
	addr := ep.Addrs()[0].Addr

	// Slowloris: the headers one byte every 200 ms.
	slow := dialFrom(t, "127.0.0.1", addr)
	msg := rawOptions(slow)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < len(msg); i++ {
			if _, err := slow.Write([]byte{msg[i]}); err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	// Keep-alives for longer than the message timeout, then a message at
	// once: keep-alives start no message.
	alive := dialFrom(t, "127.0.0.1", addr)
	for i := 0; i < 8; i++ {
		if _, err := io.WriteString(alive, "\r\n"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(timeout / 4)
	}
	if got := optionsStatus(t, alive); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS after keep-alives: %q", got)
	}
	if got := optionsStatus(t, dialFrom(t, "127.0.0.1", addr)); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS beside the slow connection: %q", got)
	}
	expectClosed(t, slow, 5*timeout)

	// Headers past 63 KiB: closed at once, nothing answered.
	big := dialFrom(t, "127.0.0.1", addr)
	go io.WriteString(big, "OPTIONS sip:701@x SIP/2.0\r\nX-Pad: "+strings.Repeat("a", 70<<10))
	expectClosed(t, big, 3*time.Second)

	st := ep.Stats()
	if got := reasonCounts(st.TCP.Closed); got[TCPSlowMessage] != 1 || got[TCPOversized] != 1 || len(got) != 2 {
		t.Errorf("closed %v, want slow_message 1, oversized 1", got)
	}
	if got := requestCounts(st)["OPTIONS"]; got != 2 {
		t.Errorf("%d OPTIONS reached parkd, want 2 (not the slow or the oversized one)", got)
	}
	if !strings.Contains(logs.String(), "reason=slow_message") {
		t.Errorf("slow message not logged:\n%s", logs)
	}
}

func TestTCPSlowReaderClosed(t *testing.T) {
	const timeout = 500 * time.Millisecond
	ep, _, _ := newTCPEndpoint(t, TCPLimits{MessageTimeout: timeout})
	addr := ep.Addrs()[0].Addr

	// A peer that sends requests and never reads the answers: once the
	// socket buffers are full, parkd's writes wait, and must not wait for
	// ever.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	deaf, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer deaf.Close()
	// Answers repeat the Via headers: 40 KB of them make 40 KB answers, and
	// 200 of those more than the kernel buffers. Each request's top Via
	// has a branch of its own: with one branch for all, a request that
	// arrived while the one before was still being handled was its
	// retransmission, absorbed, and too few answers were written to fill
	// the buffers.
	pad := strings.Repeat("p", 950)
	var burst bytes.Buffer
	for i := 0; i < 200; i++ {
		var vias strings.Builder
		for j := 0; j < 40; j++ {
			fmt.Fprintf(&vias, "Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-pad%d-%d-%s\r\n", i, j, pad)
		}
		msg := rawOptions(deaf)
		burst.WriteString(strings.Replace(msg, "\r\n", "\r\n"+vias.String(), 1))
	}
	go deaf.Write(burst.Bytes())
	eventually(t, "the deaf connection to be closed", func() bool {
		return reasonCounts(ep.Stats().TCP.Closed)[TCPSlowReader] == 1
	})
	eventually(t, "its place to be released", func() bool { return ep.Stats().TCP.Open == 0 })
	if got := optionsStatus(t, dialFrom(t, "127.0.0.1", addr)); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS after the deaf connection: %q", got)
	}
}
