package sipcore

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore/media"
	"github.com/parkd/parkd/sipcore/siptest"
)

// options sends an out-of-dialog OPTIONS from p.
func (p *rawPeer) options(to, id string) {
	p.send(to, "", "OPTIONS sip:parkd@"+to+" SIP/2.0", p.via(id), "From: <sip:flood@"+p.addr.Addr().String()+">;tag="+id,
		"To: <sip:parkd@"+to+">", "Call-ID: "+id, "CSeq: 1 OPTIONS")
}

// collect reads responses until n came, then for quiet more; it returns
// them by status code.
func (p *rawPeer) collect(n int, quiet time.Duration) map[int][]*sip.Response {
	p.t.Helper()
	got := map[int][]*sip.Response{}
	total := 0
	timeout := time.After(3 * time.Second)
	for {
		wait := timeout
		if total >= n {
			wait = time.After(quiet)
		}
		select {
		case m := <-p.msgs:
			if res, ok := m.(*sip.Response); ok {
				got[res.StatusCode] = append(got[res.StatusCode], res)
				total++
			}
		case <-wait:
			return got
		}
	}
}

// Past its rate a source gets 503 with Retry-After, far past it nothing;
// another source is still served, and a call of the flooding source can
// still hang up.
func TestRateLimitSheds(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, func(c *Config) { c.RateLimit = RateLimit{PerSecond: 1, Burst: 5} })
	ctx := testCtx(t)
	flooder := newRawPeer(t, "127.0.0.2")
	other := newRawPeer(t, "127.0.0.1")

	// A call from the flooder first (one token), then the flood.
	ok, from := flooder.answeredCall(t, h, addr, "flood-call", 1)

	for i := range 12 {
		flooder.options(addr, fmt.Sprint("flood", i))
	}
	got := flooder.collect(4+5, 200*time.Millisecond)
	if len(got[200]) != 4 || len(got[503]) != 5 || len(got) != 2 {
		t.Errorf("12 OPTIONS past a burst of 5 (1 spent): %d×200, %d×503, all %v; want 4×200, 5×503, 3 unanswered",
			len(got[200]), len(got[503]), counts(got))
	}
	for _, res := range got[503] {
		if h := res.GetHeader("Retry-After"); h == nil || h.Value() != "5" {
			t.Errorf("503 with Retry-After %v, want 5 (the bucket's refill time)", h)
		}
	}
	st := ep.Stats()
	if st.RateLimited != 5 || st.RateDropped != 3 {
		t.Errorf("stats: %d rate limited, %d dropped; want 5 and 3", st.RateLimited, st.RateDropped)
	}

	other.options(addr, "other")
	other.response(ctx, 200, sip.OPTIONS)

	flooder.send(addr, "", "BYE sip:parkd@"+addr+" SIP/2.0", flooder.via("bye"), from, "To: "+ok.To().Value(), "Call-ID: flood-call", "CSeq: 2 BYE")
	flooder.response(ctx, 200, sip.BYE)
	waitFor(t, "the call to end", func() bool { return ep.Calls() == 0 })
}

func counts(got map[int][]*sip.Response) map[int]int {
	out := map[int]int{}
	for code, r := range got {
		out[code] = len(r)
	}
	return out
}

// The same limit over TCP, where it applies at the handler.
func TestRateLimitShedsOverTCP(t *testing.T) {
	ep, _, _ := newDoorEndpoint(t, func(c *Config) {
		c.Listen = append(c.Listen, ListenAddr{"tcp", "127.0.0.1:0"})
		c.RateLimit = RateLimit{PerSecond: 1, Burst: 2}
	})
	ctx := testCtx(t)
	var tcp string
	for _, a := range ep.Addrs() {
		if a.Network == "tcp" {
			tcp = a.Addr
		}
	}
	phone := siptest.NewPhone(t, "alice", siptest.WithTCP())
	var codes []int
	for range 3 {
		res, err := phone.Options(ctx, "sip:parkd@"+tcp+";transport=tcp")
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, res.StatusCode)
		if res.StatusCode == 503 && res.GetHeader("Retry-After") == nil {
			t.Error("503 without Retry-After")
		}
	}
	if fmt.Sprint(codes) != "[200 200 503]" {
		t.Errorf("3 OPTIONS over TCP past a burst of 2: %v, want [200 200 503]", codes)
	}
}

// Past sip.max_transactions a request that would open one gets a
// stateless 503; those alive go on.
func TestTransactionCap(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, func(c *Config) { c.MaxTransactions = 2 })
	ctx := testCtx(t)
	invite := func(p *rawPeer, id string) {
		p.send(addr, testSDP, "INVITE sip:hold@"+addr+" SIP/2.0", p.via(id), "From: <sip:x@127.0.0.1>;tag="+id,
			"To: <sip:hold@"+addr+">", "Call-ID: "+id, "CSeq: 1 INVITE", "Contact: <sip:x@"+p.addr.String()+">",
			"Content-Type: application/sdp")
	}
	a, b, c := newRawPeer(t, "127.0.0.1"), newRawPeer(t, "127.0.0.1"), newRawPeer(t, "127.0.0.2")
	invite(a, "a")
	invite(b, "b")
	a.response(ctx, 180, sip.INVITE)
	b.response(ctx, 180, sip.INVITE)
	waitFor(t, "2 live transactions", func() bool { return ep.Stats().Transactions == 2 })
	invite(c, "c")
	res := c.response(ctx, 503, sip.INVITE)
	if h := res.GetHeader("Retry-After"); h == nil {
		t.Error("503 without Retry-After")
	}
	if !strings.Contains(res.GetHeader("Warning").Value(), "transactions") {
		t.Errorf("Warning %q", res.GetHeader("Warning").Value())
	}
	// The handler rings before it hands the INVITE over: wait for both.
	waitFor(t, "both INVITEs at the handler", func() bool { return len(h.ringing) >= 2 })
	if n := len(h.ringing); n != 2 {
		t.Errorf("%d INVITEs reached the handler, want 2", n)
	}
	close(h.release)
	a.response(ctx, 200, sip.INVITE)
	b.response(ctx, 200, sip.INVITE)
	if st := ep.Stats(); st.TransactionCapRefused != 1 {
		t.Errorf("%d refused by the cap, want 1", st.TransactionCapRefused)
	}
}

// OPTIONS pings are answered without a transaction, and refusals keep
// none: nothing waits for Timer J. A stateless To tag is the same for a
// retransmission.
func TestNothingKeptForPingsAndRefusals(t *testing.T) {
	ep, _, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	p.options(addr, "ping")
	first := p.response(ctx, 200, sip.OPTIONS)
	p.options(addr, "ping")
	again := p.response(ctx, 200, sip.OPTIONS)
	if first.To().Value() != again.To().Value() || !first.To().Params.Has("tag") {
		t.Errorf("To %q then %q: want one tag for both copies", first.To().Value(), again.To().Value())
	}
	if first.GetHeader("Allow") == nil {
		t.Error("200 without Allow")
	}
	if n := ep.Stats().Transactions; n != 0 {
		t.Errorf("%d server transactions alive after OPTIONS, want 0", n)
	}

	p.send(addr, "", "MESSAGE sip:parkd@"+addr+" SIP/2.0", p.via("msg"), "From: <sip:x@127.0.0.1>;tag=m",
		"To: <sip:parkd@"+addr+">", "Call-ID: msg", "CSeq: 1 MESSAGE")
	p.response(ctx, 405, sip.MESSAGE)
	waitFor(t, "no transaction kept for a 405", func() bool { return ep.Stats().Transactions == 0 })
	// A retransmission is refused again, as by a stateless server.
	p.send(addr, "", "MESSAGE sip:parkd@"+addr+" SIP/2.0", p.via("msg"), "From: <sip:x@127.0.0.1>;tag=m",
		"To: <sip:parkd@"+addr+">", "Call-ID: msg", "CSeq: 1 MESSAGE")
	p.response(ctx, 405, sip.MESSAGE)
}

// Over TCP, bytes from outside sip.allow are never parsed: the connection
// is reset at accept (the dial itself, or the write after it, may see the
// reset first), a request gets no answer and reaches no handler.
func TestTCPFromOutsideAllowIsIgnored(t *testing.T) {
	ep, _, _ := newDoorEndpoint(t, func(c *Config) { c.Listen = []ListenAddr{{"tcp", "127.0.0.1:0"}} })
	addr := ep.Addrs()[0].Addr
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.9")}, Timeout: time.Second}
	if conn, err := d.Dial("tcp", addr); err == nil {
		defer conn.Close()
		msg := "OPTIONS sip:parkd@" + addr + " SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.9:5060;branch=z9hG4bKtcp\r\n" +
			"From: <sip:x@127.0.0.9>;tag=x\r\nTo: <sip:parkd@" + addr + ">\r\nCall-ID: tcp-outsider\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
		if _, err := conn.Write([]byte(msg)); err == nil {
			conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if n, err := conn.Read(make([]byte, 4096)); n > 0 || err == nil {
				t.Errorf("an outsider over TCP got %d bytes back", n)
			}
		}
	}
	if reqs := ep.Stats().Requests; len(reqs) != 0 {
		t.Errorf("requests counted: %v", reqs)
	}
}

const answeredInviteSeed = "INVITE sip:park@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKans\r\n" +
	"From: <sip:a@b>;tag=1\r\nTo: <sip:park@127.0.0.1>\r\nCall-ID: ans\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"

// FuzzReadFilter: whatever a datagram holds, the gate neither fails (sipgo
// would stop reading the socket) nor panics, and passes data on unchanged
// but for the version's spelling (sip20), or not at all.
func FuzzReadFilter(f *testing.F) {
	for _, seed := range []string{
		"OPTIONS sip:parkd@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx;rport\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		"CANCEL sip:hold@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n\r\n",
		"BYE sip:x SIP/2.0\r\nTo: <sip:a@b>;tag=2\r\n\r\n",
		"SIP/2.0 200 OK\r\n\r\n",
		"ACK sip:x SIP/2.0\r\n\r\n",
		"INVITE sip:x sip/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9\r\n\r\n",
		"\x00\x01garbage",
		"",
		answeredInviteSeed,
		strings.Replace(strings.Replace(answeredInviteSeed, "INVITE sip", "CANCEL sip", 1), "1 INVITE", "1 CANCEL", 1),
	} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	rtp, err := media.NewAllocator(netip.MustParseAddr("127.0.0.1"), 43000, 43010)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(rtp.Close) // its kept sockets hold ports other tests use
	ep, err := NewEndpoint(Config{
		Listen: []ListenAddr{{"udp", "127.0.0.1:0"}},
		RTP:    rtp,
		Logger: slog.New(slog.DiscardHandler),
		Settings: Settings{
			Allow:           []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
			RateLimit:       RateLimit{PerSecond: 1000, Burst: 5},
			MaxTransactions: 1,
		},
	}, &doorHandler{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ep.Shutdown(context.Background()) })
	// An INVITE parkd answered 200, so that copies of it and CANCELs
	// reach absorbCopy's parse.
	msg, err := sip.ParseMessage([]byte(answeredInviteSeed))
	if err != nil {
		f.Fatal(err)
	}
	answered := msg.(*sip.Request)
	ep.noteAnswering(answered, sip.NewResponseFromRequest(answered, 200, "OK", nil))
	local := net.UDPAddrFromAddrPort(netip.MustParseAddrPort(ep.Addrs()[0].Addr))
	f.Fuzz(func(t *testing.T, data []byte, allowed bool) {
		remote := &net.UDPAddr{IP: net.ParseIP("127.0.0.2"), Port: 9} // discard
		if allowed {
			remote.IP = net.ParseIP("127.0.0.1")
		}
		want := append([]byte(nil), data...)
		sip20(want) // the one change allowed: the version spelled SIP/2.0
		out, err := ep.readFilter(sip.TransportReadProps{Transport: "UDP", LocalAddr: local, RemoteAddr: remote}, data)
		if err != nil {
			t.Fatalf("read filter failed: %v", err)
		}
		if out != nil && !bytes.Equal(out, want) {
			t.Fatalf("read filter changed the data: %q, want %q", out, want)
		}
	})
}

// silencedRinging rings an INVITE from a source, then floods the
// endpoint with OPTIONS from it until it is past its rate and its burst,
// where the rate limit drops what it sends without an answer.
func silencedRinging(t *testing.T, callID string) (string, *rawPeer, *Invite) {
	t.Helper()
	_, h, addr := newDoorEndpoint(t, func(c *Config) { c.RateLimit = RateLimit{PerSecond: 0.001, Burst: 5} })
	flooder := newRawPeer(t, "127.0.0.2")
	flooder.invite(addr, "hold", callID, callID)
	flooder.response(testCtx(t), 180, sip.INVITE)
	inv := receive(t, h.ringing, "the ringing INVITE")
	flooder.silence(t, addr)
	return addr, flooder, inv
}

// silence floods addr with OPTIONS from p, whose rate limit allows a
// burst of 5 with one spent, until it is past its rate and its burst.
func (p *rawPeer) silence(t *testing.T, addr string) {
	t.Helper()
	for i := range 12 {
		p.options(addr, fmt.Sprint("flood", i))
	}
	if got := p.collect(4+5, 200*time.Millisecond); len(got[503]) != 5 {
		t.Fatalf("12 OPTIONS past a burst of 5 (1 spent) got %v, want 5×503", counts(got))
	}
}

// answeredCall places a call from p to the door endpoint's "park" with
// CSeq number cseq, ACKs its 200 and waits for it at the handler: the
// 200, and the From line of the call's requests.
func (p *rawPeer) answeredCall(t *testing.T, h *doorHandler, addr, callID string, cseq int) (*sip.Response, string) {
	t.Helper()
	from := "From: <sip:flood@" + p.addr.Addr().String() + ">;tag=call"
	p.send(addr, testSDP, "INVITE sip:park@"+addr+" SIP/2.0", p.via("inv"), from, "To: <sip:park@"+addr+">",
		"Call-ID: "+callID, fmt.Sprintf("CSeq: %d INVITE", cseq), "Contact: <sip:flood@"+p.addr.String()+">", "Content-Type: application/sdp")
	ok := p.response(testCtx(t), 200, sip.INVITE)
	p.send(addr, "", "ACK sip:parkd@"+addr+" SIP/2.0", p.via("ack"), from, "To: "+ok.To().Value(), "Call-ID: "+callID, fmt.Sprintf("CSeq: %d ACK", cseq))
	receive(t, h.calls, "the answered call")
	return ok, from
}

// cancelFrom sends a CANCEL of the INVITE p.invite sent with callID as
// its branch too, with its own Via and version.
func (p *rawPeer) cancelFrom(to, callID, via, version string) {
	p.send(to, "",
		"CANCEL sip:hold@"+to+" "+version,
		via,
		"From: <sip:t@"+p.addr.String()+">;tag=f"+callID,
		"To: <sip:hold@"+to+">",
		"Call-ID: "+callID,
		"CSeq: 1 CANCEL")
}

// A source past its rate can still cancel a call that rings: otherwise
// the call would be answered and parked after its caller had gone. What
// is let through is that CANCEL alone: not one from another sent-by, not
// one another version, and not its copies once the call is canceled.
func TestRateLimitLetsACancelThrough(t *testing.T) {
	addr, flooder, inv := silencedRinging(t, "floodring")
	ctx := testCtx(t)
	flooder.cancelFrom(addr, "floodring", flooder.via("floodring"), "SIP/3.0")
	flooder.cancelFrom(addr, "floodring", "Via: SIP/2.0/UDP 127.0.0.2:9;rport;branch=z9hG4bKfloodring", "SIP/2.0")
	flooder.silent(200 * time.Millisecond)

	flooder.cancel(addr, "hold", "floodring", "floodring")
	if res := flooder.final(ctx, sip.CANCEL); res.StatusCode != 200 {
		t.Fatalf("the CANCEL of the ringing call got %d, want 200", res.StatusCode)
	}
	res := flooder.final(ctx, sip.INVITE)
	if res.StatusCode != 487 {
		t.Fatalf("the canceled INVITE got %d, want 487", res.StatusCode)
	}
	receive(t, inv.Canceled(), "the INVITE canceled")
	flooder.ackError(addr, "hold", "floodring", "floodring", res) // ACKs are never limited
	flooder.cancel(addr, "hold", "floodring", "floodring")
	flooder.silent(300 * time.Millisecond) // where the transaction would have answered it 200
}

// A flood of CANCELs naming a ringing call's branch costs a parse each
// only up to a bound; past it, even the right CANCEL is dropped with
// the rest of a silenced source's requests.
func TestRateLimitLetsFewCancelsOfOneCallThrough(t *testing.T) {
	addr, flooder, inv := silencedRinging(t, "floodmany")
	for range maxCancelExemptions {
		flooder.cancelFrom(addr, "floodmany", "Via: SIP/2.0/UDP 127.0.0.2:9;rport;branch=z9hG4bKfloodmany", "SIP/2.0")
	}
	flooder.cancel(addr, "hold", "floodmany", "floodmany")
	flooder.silent(300 * time.Millisecond)
	select {
	case <-inv.Canceled():
		t.Fatal("a CANCEL past the bound canceled the ringing call")
	default:
	}
}

// Past its rate and burst, a source can still hang up a call that is up,
// but a BYE out of CSeq order, answered 500 while the call stays up, is
// dropped with the rest: one answer per BYE would bypass the limit.
func TestRateLimitLetsOnlyAHangUpThrough(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, func(c *Config) { c.RateLimit = RateLimit{PerSecond: 0.001, Burst: 5} })
	ctx := testCtx(t)
	flooder := newRawPeer(t, "127.0.0.2")
	ok, from := flooder.answeredCall(t, h, addr, "hangup-call", 5)
	flooder.silence(t, addr)

	bye := func(cseq string) {
		flooder.send(addr, "", "BYE sip:parkd@"+addr+" SIP/2.0", flooder.via("bye"+cseq), from, "To: "+ok.To().Value(),
			"Call-ID: hangup-call", "CSeq: "+cseq+" BYE")
	}
	bye("4") // older than the INVITE's
	flooder.silent(300 * time.Millisecond)
	if ep.Calls() != 1 {
		t.Fatal("a BYE out of CSeq order ended the call")
	}
	bye("6")
	flooder.response(ctx, 200, sip.BYE)
	waitFor(t, "the call to end", func() bool { return ep.Calls() == 0 })
}
