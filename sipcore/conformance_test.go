package sipcore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	t.Cleanup(rtp.Close) // its kept sockets hold ports other tests use
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
		RTP:    rtp,
		Logger: slog.New(slog.NewTextHandler(log, nil)),
		Settings: Settings{
			Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		},
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
