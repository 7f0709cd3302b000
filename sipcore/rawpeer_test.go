package sipcore

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore/media"
)

// rawPeer is a UDP socket on any 127/8 address that writes SIP by hand:
// it can pretend to be a stranger, a phone or a third party.
type rawPeer struct {
	t    *testing.T
	conn *net.UDPConn
	addr netip.AddrPort
	msgs chan sip.Message
}

func newRawPeer(t *testing.T, ip string) *rawPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 0)))
	if err != nil {
		t.Fatal(err)
	}
	p := &rawPeer{t: t, conn: conn, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(), msgs: make(chan sip.Message, 256)}
	go func() {
		buf := make([]byte, 65535)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				close(p.msgs)
				return
			}
			if msg, err := sip.ParseMessage(append([]byte(nil), buf[:n]...)); err == nil {
				p.msgs <- msg
			}
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return p
}

// send writes a message built from lines (start line and headers) and a
// body; Content-Length is added.
func (p *rawPeer) send(to string, body string, lines ...string) {
	p.t.Helper()
	msg := strings.Join(lines, "\r\n") + fmt.Sprintf("\r\nContent-Length: %d\r\n\r\n", len(body)) + body
	dst, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.conn.WriteTo([]byte(msg), dst); err != nil {
		p.t.Fatal(err)
	}
}

// via is a Via header of this peer with a branch.
func (p *rawPeer) via(branch string) string {
	return fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK%s", p.addr, branch)
}

// next waits for the next message, or fails the test.
func (p *rawPeer) next(ctx context.Context) sip.Message {
	p.t.Helper()
	select {
	case m, ok := <-p.msgs:
		if !ok {
			p.t.Fatal("socket closed")
		}
		return m
	case <-ctx.Done():
		p.t.Fatalf("%s: nothing received", p.addr)
	}
	return nil
}

// response waits for a response with a status code and CSeq method,
// skipping provisional ones.
func (p *rawPeer) response(ctx context.Context, code int, method sip.RequestMethod) *sip.Response {
	p.t.Helper()
	for {
		m := p.next(ctx)
		res, ok := m.(*sip.Response)
		if !ok {
			continue
		}
		if res.StatusCode == code && res.CSeq().MethodName == method {
			return res
		}
		if res.StatusCode >= 200 {
			p.t.Fatalf("%s: got %d %s for %s, want %d", p.addr, res.StatusCode, res.Reason, res.CSeq().MethodName, code)
		}
	}
}

// silent asserts nothing arrives for d.
func (p *rawPeer) silent(d time.Duration) {
	p.t.Helper()
	select {
	case m := <-p.msgs:
		p.t.Errorf("%s received %s", p.addr, strings.SplitN(m.String(), "\r\n", 2)[0])
	case <-time.After(d):
	}
}

// doorHandler answers every INVITE except "hold", which rings until the
// test releases it (then answers) or the caller cancels (487).
type doorHandler struct {
	ringing chan *Invite
	release chan struct{}
	calls   chan *Call
	// afterAnswer, when set, runs in the handler once it has answered.
	afterAnswer atomic.Pointer[func(ctx context.Context)]
	// holdCtx gets the handler's context of each "hold" and "linger"
	// call, when there is room.
	holdCtx chan context.Context
	// ended, when set, runs as each call's end is reported.
	ended atomic.Pointer[func(*Call, EndReason)]
}

// ring sends 180 and hands the INVITE, and its handler's context, to
// the test.
func (h *doorHandler) ring(ctx context.Context, inv *Invite) {
	inv.Ring()
	select {
	case h.holdCtx <- ctx:
	default:
	}
	h.ringing <- inv
}

func (h *doorHandler) HandleInvite(ctx context.Context, inv *Invite) {
	if inv.Target == "linger" {
		// Rings, then stays until its context ends (or 10 s): whatever
		// ends that context has to do so while the handler still runs.
		h.ring(ctx, inv)
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	if inv.Target == "hold" {
		h.ring(ctx, inv)
		select {
		case <-h.release:
		case <-inv.Canceled():
		}
		select {
		case <-inv.Canceled():
			inv.Reject(487, "Request Terminated", "")
			return
		default:
		}
	}
	if c, err := inv.Answer(); err == nil {
		h.calls <- c
		if f := h.afterAnswer.Load(); f != nil {
			(*f)(ctx)
		}
	}
}

func (h *doorHandler) CallEnded(c *Call, why EndReason) {
	if f := h.ended.Load(); f != nil {
		(*f)(c, why)
	}
}
func (h *doorHandler) ResolveSubscription(*SubscribeRequest) (string, bool) { return "", false }
func (h *doorHandler) SubscriptionsChanged(string)                          {}

// newDoorEndpoint is a real Endpoint on 127.0.0.1 that lets only
// 127.0.0.1 and 127.0.0.2 in, changed by edit.
func newDoorEndpoint(t testing.TB, edit func(*Config)) (*Endpoint, *doorHandler, string) {
	t.Helper()
	rtp, err := media.NewAllocator(netip.MustParseAddr("127.0.0.1"), 42000, 42998)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rtp.Close) // its kept sockets hold ports other tests use
	h := &doorHandler{ringing: make(chan *Invite, 8), release: make(chan struct{}), calls: make(chan *Call, 8),
		holdCtx: make(chan context.Context, 1)}
	cfg := Config{
		Listen: []ListenAddr{{"udp", "127.0.0.1:0"}},
		RTP:    rtp,
		Logger: slog.New(slog.DiscardHandler),
		Settings: Settings{
			Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("127.0.0.2/32")},
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	ep, err := NewEndpoint(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Raw peers answer no BYE: do not wait long for them.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		ep.Shutdown(ctx)
	})
	return ep, h, ep.Addrs()[0].Addr
}

// recordLookups replaces the resolver hooks with ones that fail and
// remember every name asked; sipgo's refused lookups are counted apart.
func recordLookups(t *testing.T) (names func() []string, refused func() uint64) {
	var asked []string
	var mu sync.Mutex
	oldIP, oldSRV := lookupIPAddr, lookupSRV
	lookupIPAddr = func(_ context.Context, host string) ([]net.IPAddr, error) {
		mu.Lock()
		asked = append(asked, host)
		mu.Unlock()
		return nil, fmt.Errorf("test: no lookups")
	}
	lookupSRV = func(_ context.Context, _, _, host string) (string, []*net.SRV, error) {
		mu.Lock()
		asked = append(asked, "SRV "+host)
		mu.Unlock()
		return "", nil, fmt.Errorf("test: no lookups")
	}
	base := refusedLookups.Load()
	t.Cleanup(func() { lookupIPAddr, lookupSRV = oldIP, oldSRV })
	return func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), asked...)
		}, func() uint64 {
			return refusedLookups.Load() - base
		}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds or the test's time is up.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receive takes the next value from ch, or fails the test naming what it
// waited for: a message parkd dropped must fail the test, not hang the
// package until go test's own timeout hides which test it was.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

const testSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"

// inviteFunc is a Handler that only handles INVITEs, with the function.
type inviteFunc func(context.Context, *Invite)

func (f inviteFunc) HandleInvite(ctx context.Context, inv *Invite)      { f(ctx, inv) }
func (inviteFunc) CallEnded(*Call, EndReason)                           {}
func (inviteFunc) ResolveSubscription(*SubscribeRequest) (string, bool) { return "", false }
func (inviteFunc) SubscriptionsChanged(string)                          {}
