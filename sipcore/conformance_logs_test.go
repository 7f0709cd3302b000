package sipcore

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
)

// syncBuffer is a log destination several goroutines write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ask sends msg until a final response to branch comes back: the flood
// before it may have filled the socket buffer.
func (p *wirePeer) ask(msg, branch string) *sip.Response {
	p.t.Helper()
	buf := make([]byte, 65535)
	for try := 0; try < 10; try++ {
		p.send(msg)
		p.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		for {
			n, err := p.conn.Read(buf)
			if err != nil {
				break
			}
			msg, err := sip.NewParser().ParseSIP(buf[:n])
			if err != nil {
				continue
			}
			if res, ok := msg.(*sip.Response); ok && res.StatusCode >= 200 {
				if res.Via() == nil {
					continue // sipgo's stateless 400 to a request with no Via
				}
				if b, _ := res.Via().Params.Get("branch"); b == "z9hG4bK"+branch {
					return res
				}
			}
		}
	}
	p.t.Fatalf("no answer for branch %s after 10 tries", branch)
	return nil
}

// garbage is a packet sipgo cannot parse: control bytes, line breaks, and
// far past what a log line may quote, a marker that must never be logged.
func garbage(i int) []byte {
	b := []byte(fmt.Sprintf("\x16\x03\x01 junk %d\x1b[31m\r\nnot: sip\x00\x07\r\n", i))
	for len(b) < 600 {
		b = append(b, "\x01\x02\r\n\x1b]0;owned\x07"...)
	}
	b = append(b, "MARKER-PAST-THE-CLIP"...)
	for len(b) < 1400 {
		b = append(b, 'x')
	}
	return b
}

// TestLogsAreNoAmplifier: megabytes of garbage and hundreds of refused
// requests from one source write a few lines, each WARN, clipped and
// escaped, the next one counting what was held back; an allowed source is
// still served.
func TestLogsAreNoAmplifier(t *testing.T) {
	var log syncBuffer
	ep, _ := newConformEndpoint(t, &log, "udp", "tcp")
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC).UnixNano())
	ep.quiet.mu.Lock()
	ep.quiet.now = func() time.Time { return time.Unix(0, clock.Load()) }
	ep.quiet.mu.Unlock()
	var udpAddr, tcpAddr string
	for _, a := range ep.Addrs() {
		if a.Network == "udp" {
			udpAddr = a.Addr
		} else {
			tcpAddr = a.Addr
		}
	}
	intruder := newWirePeer(t, "127.0.0.2:0", udpAddr)
	sent := 0
	flood := func(round int) {
		for i := 0; i < 1500; i++ { // 2.1 MB over UDP
			b := garbage(i)
			intruder.conn.WriteToUDP(b, intruder.to)
			sent += len(b)
		}
		for i := 0; i < 300; i++ {
			intruder.send(intruder.text(rawRequest{method: "OPTIONS", callID: fmt.Sprint("refused-", round, "-", i), fromTag: "x", branch: fmt.Sprint("r", round, "-", i)}))
		}
		for i := 0; i < 20; i++ { // 20 connections, 28 KB each, over TCP
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: time.Second}
			conn, err := d.Dial("tcp", tcpAddr)
			if err != nil {
				continue // closed at accept is fine too
			}
			for j := 0; j < 20; j++ {
				b := garbage(j)
				conn.Write(b)
				sent += len(b)
			}
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			io.Copy(io.Discard, conn) // until parkd closes it
			conn.Close()
		}
		// Once the refusal is answered, the UDP garbage before it is read.
		barrier := fmt.Sprint("barrier-", round)
		if res := intruder.ask(intruder.text(rawRequest{method: "OPTIONS", callID: barrier, fromTag: "x", branch: barrier}), barrier); res.StatusCode != 403 {
			t.Fatalf("OPTIONS from outside sip.allow: got %d, want 403", res.StatusCode)
		}
	}
	flood(1)
	clock.Add(int64(logEvery))
	flood(2)

	phone := newWirePeer(t, "127.0.0.1:0", udpAddr)
	if res := phone.ask(phone.text(rawRequest{method: "OPTIONS", callID: "allowed", fromTag: "y", branch: "ok"}), "ok"); res.StatusCode != 200 {
		t.Fatalf("OPTIONS from an allowed source after the flood: got %d, want 200", res.StatusCode)
	}

	out := log.String()
	t.Logf("%d bytes sent, %d bytes logged:\n%s", sent, len(out), out)
	if len(out) > 10<<10 {
		t.Errorf("%d bytes of garbage wrote %d bytes of log, want under 10 KB", sent, len(out))
	}
	if strings.Contains(out, "MARKER-PAST-THE-CLIP") {
		t.Error("the log quotes a packet past its first bytes")
	}
	for i := 0; i < len(out); i++ {
		if c := out[i]; c < 0x20 && c != '\n' || c == 0x7f {
			t.Fatalf("the log holds the raw byte %#x at %d", c, i)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	suppressed := false
	for _, l := range lines {
		if !strings.Contains(l, "level=WARN") {
			t.Errorf("line not at WARN: %s", l)
		}
		if strings.Contains(l, "suppressed=") {
			suppressed = true
		}
	}
	if !suppressed {
		t.Error("no line counts the lines held back")
	}
	if !strings.Contains(out, "source=127.0.0.2") {
		t.Error("no line names the source 127.0.0.2")
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("a", logClip) + "MARKER"
	cases := []struct{ in, want string }{
		{"INVITE sip:701@x SIP/2.0", "INVITE sip:701@x SIP/2.0"},
		{"a\r\nb", "a␍␊b"},
		{"\x00\x1b[2J\x7f", "␀␛[2J␡"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"bidi \u202e evil", "bidi \uFFFD evil"},
		{"café", "café"},
		{long, strings.Repeat("a", logClip) + "…"},
	}
	for _, tc := range cases {
		if got := clip(tc.in); got != tc.want {
			t.Errorf("clip(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLogLimiter(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	l := newLogLimiter(time.Minute, 3)
	l.now = func() time.Time { return now }
	steps := []struct {
		key        string
		advance    time.Duration
		ok         bool
		suppressed int
	}{
		{"10.0.0.1", 0, true, 0},
		{"10.0.0.1", time.Second, false, 0},
		{"10.0.0.1", time.Second, false, 0},
		{"10.0.0.2", 0, true, 0}, // another source has its own minute
		{"10.0.0.1", time.Minute, true, 2},
		{"10.0.0.1", time.Second, false, 0},
		{"10.0.0.3", 0, true, 0},
		{"10.0.0.4", 0, true, 0},         // table full: 10.0.0.2, quiet past its minute, is forgotten
		{"10.0.0.5", 0, true, 0},         // table full of busy sources: the shared overflow line
		{"10.0.0.6", 0, false, 0},        // … which is held back like any other
		{"10.0.0.6", time.Hour, true, 0}, // quiet sources forgotten: room again
		{"10.0.0.1", 0, true, 1},         // a busy source kept its count
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		ok, n := l.allow(s.key)
		if ok != s.ok || n != s.suppressed {
			t.Errorf("step %d (%s): got %v %d, want %v %d", i, s.key, ok, n, s.ok, s.suppressed)
		}
		if l.len() > 4 { // the cap plus the shared overflow line
			t.Fatalf("step %d: %d keys remembered", i, l.len())
		}
	}
}

// A flood of new sources into a table full of sources still inside their
// minute walks the table once, not once per source: the strays' goroutines
// wait on the limiter's lock. Once the earliest minute has passed, the
// next new source is given room again.
func TestLogLimiterFullTableSweepsOnce(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	l := newLogLimiter(time.Minute, 100)
	l.now = func() time.Time { return now }
	for i := range 100 {
		if ok, _ := l.allow(fmt.Sprintf("10.0.0.%d", i)); !ok {
			t.Fatalf("source %d held back", i)
		}
		now = now.Add(100 * time.Millisecond) // 10.0.0.0's minute ends first
	}
	for i := range 10000 {
		l.allow(fmt.Sprintf("10.1.%d.%d", i/256, i%256))
	}
	if l.sweeps != 1 {
		t.Errorf("%d sweeps of the full table for 10,000 new sources, want 1", l.sweeps)
	}
	if ok, n := l.allow("10.2.0.1"); ok || n != 0 {
		t.Errorf("a new source while the table is full: %v %d, want the shared line held back", ok, n)
	}
	now = time.Date(2026, 12, 5, 10, 1, 0, 1e8, time.UTC) // the first two minutes are over (the shared line counts against the table)
	if ok, _ := l.allow("10.2.0.2"); !ok {
		t.Error("a new source once a minute ended: held back, want its own line")
	}
	if l.sweeps != 2 {
		t.Errorf("%d sweeps, want 2", l.sweeps)
	}
	if l.len() > 101 {
		t.Errorf("%d keys remembered", l.len())
	}
}

// FuzzClip: whatever a peer sends, the logged text is one printable line
// of bounded length.
func FuzzClip(f *testing.F) {
	f.Add("INVITE sip:701@x SIP/2.0\r\n")
	f.Add("\x00\xff\u202e\x1b[2J")
	f.Fuzz(func(t *testing.T, s string) {
		out := clip(s)
		if !utf8.ValidString(out) {
			t.Fatalf("clip(%q) = %q: invalid UTF-8", s, out)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r != utf8.RuneError && !strconv.IsPrint(r)) {
				t.Fatalf("clip(%q) = %q: holds %U", s, out, r)
			}
		}
		if len(out) > 4*logClip+len("…") {
			t.Fatalf("clip of %d bytes is %d bytes long", len(s), len(out))
		}
	})
}

// TestRefusalsLogOncePerSourceAMinute: each refused request is answered,
// but one source gets one line a minute, and the next line says how many
// were held back; a request too broken for sipgo to make a transaction of
// (no Via) costs a line a minute in all.
func TestRefusalsLogOncePerSourceAMinute(t *testing.T) {
	var log syncBuffer
	ep, _ := newConformEndpoint(t, &log)
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC).UnixNano())
	ep.quiet.mu.Lock()
	ep.quiet.now = func() time.Time { return time.Unix(0, clock.Load()) }
	ep.quiet.mu.Unlock()
	addr := ep.Addrs()[0].Addr
	intruder := newWirePeer(t, "127.0.0.2:0", addr)
	refuse := func(n int, round string) {
		for i := 0; i < n; i++ {
			branch := fmt.Sprint(round, i)
			if res := intruder.ask(intruder.text(rawRequest{method: "OPTIONS", callID: branch, fromTag: "x", branch: branch}), branch); res.StatusCode != 403 {
				t.Fatalf("OPTIONS from outside sip.allow: got %d, want 403", res.StatusCode)
			}
		}
	}
	refuse(50, "a")
	// No Via: sipgo cannot make a transaction of it.
	for i := 0; i < 50; i++ {
		intruder.send(fmt.Sprintf("OPTIONS sip:701@%s SIP/2.0\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:701@%s>\r\nCall-ID: novia%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", addr, addr, i))
	}
	refuse(1, "barrier") // the Via-less requests before it are read
	clock.Add(int64(logEvery))
	refuse(1, "b")

	t.Logf("log:\n%s", log.String())
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	var refused []string
	for _, l := range lines {
		if strings.Contains(l, "outside sip.allow") {
			refused = append(refused, l)
		}
	}
	if len(refused) != 2 {
		t.Fatalf("%d lines about refused requests, want 2 (one a minute):\n%s", len(refused), log.String())
	}
	if !strings.Contains(refused[0], "level=WARN") || !strings.Contains(refused[0], "source=127.0.0.2:") || strings.Contains(refused[0], "suppressed") {
		t.Errorf("first line: %s", refused[0])
	}
	if !strings.Contains(refused[1], "suppressed=50") {
		t.Errorf("the next minute's line does not count the 50 held back: %s", refused[1])
	}
	if len(lines) > 6 {
		t.Errorf("%d lines in all, want a handful:\n%s", len(lines), log.String())
	}
}
