package sipcore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore/media"
)

// holdHandler rings INVITEs to "hold" until release is closed, then
// refuses them; anything else is answered.
type holdHandler struct {
	statsHandler
	release chan struct{}
}

func (h *holdHandler) HandleInvite(ctx context.Context, inv *Invite) {
	if inv.Target != "hold" {
		inv.Answer()
		return
	}
	inv.Ring()
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	inv.Reject(486, "Busy Here", "")
}

var conformRTPBase atomic.Int32

func init() { conformRTPBase.Store(42000) }

// newConformEndpoint is a real endpoint on 127.0.0.1 that lets only
// 127.0.0.1 in, logging into log (nil discards).
func newConformEndpoint(t *testing.T, log io.Writer, networks ...string) (*Endpoint, *holdHandler) {
	t.Helper()
	low := int(conformRTPBase.Add(100))
	rtp, err := media.NewAllocator(netip.MustParseAddr("127.0.0.1"), low, low+98)
	if err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = io.Discard
	}
	if len(networks) == 0 {
		networks = []string{"udp"}
	}
	var listen []ListenAddr
	for _, n := range networks {
		listen = append(listen, ListenAddr{n, "127.0.0.1:0"})
	}
	h := &holdHandler{release: make(chan struct{})}
	ep, err := NewEndpoint(Config{
		Listen: listen,
		Allow:  []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		RTP:    rtp,
		Logger: slog.New(slog.NewTextHandler(log, nil)),
	}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-h.release:
		default:
			close(h.release)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		ep.Shutdown(ctx)
	})
	return ep, h
}

// wirePeer speaks SIP over UDP byte by byte, so a test can send what no
// well-behaved stack would.
type wirePeer struct {
	t    *testing.T
	conn *net.UDPConn
	to   *net.UDPAddr
}

func newWirePeer(t *testing.T, from, to string) *wirePeer {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(from)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &wirePeer{t: t, conn: conn, to: net.UDPAddrFromAddrPort(netip.MustParseAddrPort(to))}
}

type rawRequest struct {
	method, version, cseqMethod string
	cseq                        int
	callID, fromTag, branch     string
	user                        string
	omit                        string // a header left out, e.g. "Call-ID"
}

func (p *wirePeer) text(r rawRequest) string {
	if r.version == "" {
		r.version = "SIP/2.0"
	}
	if r.cseqMethod == "" {
		r.cseqMethod = r.method
	}
	if r.cseq == 0 {
		r.cseq = 1
	}
	if r.user == "" {
		r.user = "701"
	}
	local := p.conn.LocalAddr().String()
	msg := fmt.Sprintf("%s sip:%s@%s %s\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n"+
		"From: <sip:raw@%s>;tag=%s\r\n"+
		"To: <sip:%s@%s>\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: %d %s\r\n"+
		"Max-Forwards: 70\r\n"+
		"Contact: <sip:raw@%s>\r\n"+
		"Content-Length: 0\r\n\r\n",
		r.method, r.user, p.to, r.version, local, r.branch, local, r.fromTag, r.user, p.to,
		r.callID, r.cseq, r.cseqMethod, local)
	if r.omit != "" {
		lines := strings.Split(msg, "\r\n")
		kept := lines[:0]
		for _, l := range lines {
			if !strings.HasPrefix(l, r.omit+":") {
				kept = append(kept, l)
			}
		}
		msg = strings.Join(kept, "\r\n")
	}
	return msg
}

func (p *wirePeer) send(msg string) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDP([]byte(msg), p.to); err != nil {
		p.t.Fatal(err)
	}
}

// final waits for the final response to the request with branch.
func (p *wirePeer) final(branch string) *sip.Response {
	p.t.Helper()
	return p.response(branch, 200)
}

// response waits for a response of at least code to the request with branch.
func (p *wirePeer) response(branch string, code int) *sip.Response {
	p.t.Helper()
	buf := make([]byte, 65535)
	p.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		n, err := p.conn.Read(buf)
		if err != nil {
			p.t.Fatalf("no final response for branch %s: %v", branch, err)
		}
		msg, err := sip.NewParser().ParseSIP(buf[:n])
		if err != nil {
			p.t.Fatalf("unparseable answer %q: %v", buf[:n], err)
		}
		res, ok := msg.(*sip.Response)
		if !ok || res.StatusCode < code {
			continue
		}
		if res.Via() == nil {
			continue // sipgo's stateless 400 to a request with no Via
		}
		if b, _ := res.Via().Params.Get("branch"); b == "z9hG4bK"+branch {
			return res
		}
	}
}

// TestConformance sends requests a fuzzer found parkd accepting, as raw
// UDP, and checks the answer RFC 3261 asks for.
func TestConformance(t *testing.T) {
	ep, _ := newConformEndpoint(t, nil)
	peer := newWirePeer(t, "127.0.0.1:0", ep.Addrs()[0].Addr)
	cases := []struct {
		name    string
		req     rawRequest
		code    int
		warning string
	}{
		{"OPTIONS", rawRequest{method: "OPTIONS"}, 200, ""},
		{"SIP/3.0", rawRequest{method: "OPTIONS", version: "SIP/3.0"}, 505, "only SIP/2.0"},
		{"SIP/1.0 INVITE", rawRequest{method: "INVITE", version: "SIP/1.0"}, 505, "only SIP/2.0"},
		{"lower-case version", rawRequest{method: "OPTIONS", version: "sip/2.0"}, 200, ""},
		{"version a fuzzer wrote", rawRequest{method: "INVITE", version: "SIP'2.0"}, 505, "only SIP/2.0"},
		{"terminal escape in the version", rawRequest{method: "OPTIONS", version: "SIP/\x1b]0;pwned\a2.0"}, 505, "only SIP/2.0"},
		{"no Call-ID", rawRequest{method: "INVITE", omit: "Call-ID"}, 400, "Call-ID"},
		{"CSeq names INVITE on an OPTIONS", rawRequest{method: "OPTIONS", cseqMethod: "INVITE"}, 400, "CSeq method"},
		{"CSeq names OPTIONS on an INVITE", rawRequest{method: "INVITE", cseqMethod: "OPTIONS"}, 400, "CSeq method"},
		{"CSeq names BYE on a SUBSCRIBE", rawRequest{method: "SUBSCRIBE", cseqMethod: "BYE"}, 400, "CSeq method"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			peer.t = t
			r := tc.req
			r.callID, r.fromTag, r.branch = fmt.Sprintf("conform-%d", i), "f"+fmt.Sprint(i), fmt.Sprintf("case%d", i)
			peer.send(peer.text(r))
			res := peer.final(r.branch)
			if res.StatusCode != tc.code {
				t.Fatalf("got %d %s, want %d", res.StatusCode, res.Reason, tc.code)
			}
			if res.SipVersion != "SIP/2.0" {
				t.Errorf("answered in %q, want SIP/2.0", res.SipVersion)
			}
			if w := res.GetHeader("Warning"); tc.warning != "" && (w == nil || !strings.Contains(w.Value(), tc.warning)) {
				t.Errorf("Warning %v, want it to say %q", w, tc.warning)
			}
		})
	}
}

// TestMergedRequest: a second copy of a request in progress, reaching parkd
// by another path (same Call-ID, From tag and CSeq, another branch), gets
// 482 and parks nobody twice; the first copy is served as usual.
func TestMergedRequest(t *testing.T) {
	ep, h := newConformEndpoint(t, nil)
	peer := newWirePeer(t, "127.0.0.1:0", ep.Addrs()[0].Addr)
	invite := rawRequest{method: "INVITE", user: "hold", callID: "merged-1", fromTag: "ft1", branch: "first"}
	peer.send(peer.text(invite))
	copy := invite
	copy.branch = "second"
	// The first INVITE rings until released; the copy arrives meanwhile.
	if res := peer.response("first", 180); res.StatusCode != 180 {
		t.Fatalf("first INVITE: got %d, want 180 while it rings", res.StatusCode)
	}
	peer.send(peer.text(copy))
	if res := peer.final("second"); res.StatusCode != 482 {
		t.Fatalf("merged INVITE: got %d, want 482", res.StatusCode)
	}
	close(h.release)
	if res := peer.final("first"); res.StatusCode != 486 {
		t.Fatalf("first INVITE: got %d, want the handler's 486", res.StatusCode)
	}

	// A request answered at once (here a MESSAGE, 405) keeps its entry for
	// the transaction's lifetime: a copy then is merged too; a new CSeq is
	// a new request. (OPTIONS pings are answered statelessly before any of
	// this: each copy gets the same 200 and nothing is done twice.)
	msg := rawRequest{method: "MESSAGE", callID: "merged-2", fromTag: "ft2", branch: "o1"}
	peer.send(peer.text(msg))
	if res := peer.final("o1"); res.StatusCode != 405 {
		t.Fatalf("MESSAGE: got %d, want 405", res.StatusCode)
	}
	msg.branch = "o2"
	peer.send(peer.text(msg))
	if res := peer.final("o2"); res.StatusCode != 482 {
		t.Fatalf("merged MESSAGE: got %d, want 482", res.StatusCode)
	}
	msg.branch, msg.cseq = "o3", 2
	peer.send(peer.text(msg))
	if res := peer.final("o3"); res.StatusCode != 405 {
		t.Fatalf("MESSAGE with the next CSeq: got %d, want 405", res.StatusCode)
	}
	// Another From tag (another caller's request) is not a copy.
	msg.branch, msg.fromTag = "o4", "other"
	peer.send(peer.text(msg))
	if res := peer.final("o4"); res.StatusCode != 405 {
		t.Fatalf("MESSAGE from another tag: got %d, want 405", res.StatusCode)
	}
}

func TestRequestsInProgressExpireAndStayBounded(t *testing.T) {
	var r requestsInProgress
	r.init()
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	req := func(callID, branch string) *sip.Request {
		m := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", User: "701", Host: "127.0.0.1"})
		m.AppendHeader(&sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5060,
			Params: sip.HeaderParams{{K: "branch", V: "z9hG4bK" + branch}}})
		m.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", Host: "x"}, Params: sip.HeaderParams{{K: "tag", V: "t"}}})
		m.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", Host: "x"}})
		cid := sip.CallIDHeader(callID)
		m.AppendHeader(&cid)
		m.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.OPTIONS})
		return m
	}
	release, merged := r.begin(req("a", "1"))
	if merged {
		t.Fatal("first request seen as merged")
	}
	if _, merged := r.begin(req("a", "2")); !merged {
		t.Fatal("copy while the handler runs: not merged")
	}
	release()
	now = now.Add(sip.Timer_J - time.Second)
	if _, merged := r.begin(req("a", "3")); !merged {
		t.Fatal("copy within the transaction's lifetime: not merged")
	}
	now = now.Add(2 * time.Second)
	rel, merged := r.begin(req("a", "4"))
	if merged {
		t.Fatal("a request after the transaction ended is not a copy")
	}
	rel()
	r.max = 100
	for i := 0; i < 1000; i++ {
		r.begin(req(fmt.Sprint("flood-", i), "x"))
	}
	if n := r.len(); n > 100 {
		t.Fatalf("%d requests remembered, want at most 100", n)
	}
}

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

// BenchmarkReadFilter is what remembering each packet's source costs on
// the read path of every SIP packet.
func BenchmarkReadFilter(b *testing.B) {
	var ep Endpoint
	from := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 5060}
	pkt := garbage(0)[:600]
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		ep.readFilter(sip.TransportReadProps{Transport: "UDP", RemoteAddr: from}, pkt)
	}
}
