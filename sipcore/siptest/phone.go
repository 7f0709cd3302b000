// Package siptest is a scripted SIP phone for tests, in the spirit of
// net/http/httptest: it places and answers calls over real loopback sockets
// and sends and receives real RTP, knowing nothing of the daemon under test.
package siptest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Phone is a SIP user agent on 127.0.0.1 (or WithHost) with one listener.
type Phone struct {
	t         testing.TB
	User      string
	Display   string
	Transport string // "udp" or "tcp"
	Addr      *net.UDPAddr
	addr      string // host:port of the SIP listener
	host      string // the IP it listens and sends RTP from
	auth      *sipgo.DigestAuth

	ua     *sipgo.UserAgent
	server *sipgo.Server
	client *sipgo.Client
	closer func()

	closeOnce sync.Once
	closed    chan struct{} // closed by Close, to wake Subscription.Next

	mu    sync.Mutex
	calls map[string]*Call         // by Call-ID
	subs  map[string]*Subscription // by Call-ID

	inbox inbox // calls ringing at the phone, see incoming.go

	messages      chan Message // MESSAGEs answered 200, see message.go
	messageStatus int          // answer to MESSAGE other than 200; 0 = 200
}

// Option changes a Phone.
type Option func(*Phone)

// WithTCP makes the phone speak SIP over TCP.
func WithTCP() Option { return func(p *Phone) { p.Transport = "tcp" } }

// WithDisplay sets the display name in From.
func WithDisplay(name string) Option { return func(p *Phone) { p.Display = name } }

// WithHost makes the phone listen, and send RTP, on another loopback
// address such as 127.0.0.2: another host as far as the daemon can tell.
func WithHost(ip string) Option { return func(p *Phone) { p.host = ip } }

// WithCredentials makes the phone answer a 401 or 407 to its INVITEs and
// SUBSCRIBEs once with digest credentials (sipgo's DoDigestAuth), as a
// registered phone would.
func WithCredentials(user, password string) Option {
	return func(p *Phone) { p.auth = &sipgo.DigestAuth{Username: user, Password: password} }
}

// NewPhone starts a phone listening on 127.0.0.1; it is closed with the test.
func NewPhone(t testing.TB, user string, opts ...Option) *Phone {
	t.Helper()
	p := &Phone{t: t, User: user, Transport: "udp", host: "127.0.0.1", calls: map[string]*Call{}, subs: map[string]*Subscription{}, closed: make(chan struct{}), messages: make(chan Message, 16)}
	for _, o := range opts {
		o(p)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("siptest-"+user),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerReadFilter(p.readFilter)))
	if err != nil {
		t.Fatalf("siptest: %v", err)
	}
	p.ua = ua
	p.server, _ = sipgo.NewServer(ua)
	p.client, _ = sipgo.NewClient(ua)
	p.server.OnBye(p.onBye)
	p.server.OnInvite(p.onInvite)
	p.server.OnNotify(p.onNotify)
	p.server.OnAck(p.onAck)
	p.server.OnCancel(p.onStrayCancel)
	p.server.OnMessage(p.onMessage)
	p.server.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})

	switch p.Transport {
	case "tcp":
		ln, err := net.Listen("tcp", net.JoinHostPort(p.host, "0"))
		if err != nil {
			t.Fatalf("siptest: %v", err)
		}
		p.addr = ln.Addr().String()
		go p.server.ServeTCP(ln)
		p.closer = func() { ln.Close() }
	default:
		conn, err := net.ListenPacket("udp", net.JoinHostPort(p.host, "0"))
		if err != nil {
			t.Fatalf("siptest: %v", err)
		}
		p.addr = conn.LocalAddr().String()
		go p.server.ServeUDP(conn)
		p.closer = func() { conn.Close() }
		waitServing(ua, "udp", p.addr)
	}
	t.Cleanup(p.Close)
	return p
}

// waitServing waits until sipgo has registered a UDP listener, so that
// requests sent from its address reuse the socket instead of binding anew.
func waitServing(ua *sipgo.UserAgent, network, addr string) {
	for i := 0; i < 1000; i++ {
		if c, _ := ua.TransportLayer().GetConnection(network, addr); c != nil {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// Close hangs up nothing: it only closes the sockets (once, so a test may
// close a phone early and still have it closed again by Cleanup).
func (p *Phone) Close() {
	p.closeOnce.Do(func() {
		close(p.closed)
		p.closer()
		p.ua.Close()
	})
}

// URI is the phone's address of record.
func (p *Phone) URI() string { return fmt.Sprintf("sip:%s@%s", p.User, p.addr) }

func (p *Phone) contact() *sip.ContactHeader {
	host, port, _ := sip.ParseAddr(p.addr)
	uri := sip.Uri{Scheme: "sip", User: p.User, Host: host, Port: port}
	if p.Transport == "tcp" {
		uri.UriParams = sip.HeaderParams{{K: "transport", V: "tcp"}}
	}
	return &sip.ContactHeader{Address: uri}
}

func (p *Phone) localAddr() sip.Addr {
	host, port, _ := sip.ParseAddr(p.addr)
	return sip.Addr{IP: net.ParseIP(host), Port: port}
}

// prepare sets the transport and source of a request the phone sends.
func (p *Phone) prepare(req *sip.Request, destination string) {
	req.SetTransport(strings.ToUpper(p.Transport))
	req.SetDestination(destination)
	if p.Transport == "udp" {
		req.Laddr = p.localAddr()
	}
}

// newDialogRequest starts a request that opens a dialog to target: From
// the phone with a new tag, To the target without one.
func (p *Phone) newDialogRequest(method sip.RequestMethod, target sip.Uri, callID string, cseq uint32) *sip.Request {
	req := sip.NewRequest(method, target)
	host, port, _ := sip.ParseAddr(p.addr)
	from := &sip.FromHeader{DisplayName: p.Display, Address: sip.Uri{Scheme: "sip", User: p.User, Host: host, Port: port}}
	from.Params.Add("tag", sip.GenerateTagN(12))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: target.User, Host: target.Host, Port: target.Port}})
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	return req
}

func (p *Phone) track(c *Call) {
	p.mu.Lock()
	p.calls[c.callID] = c
	p.mu.Unlock()
}

func (p *Phone) call(req *sip.Request) *Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cid := req.CallID(); cid != nil {
		return p.calls[cid.Value()]
	}
	return nil
}

func (p *Phone) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c := p.call(req)
	if c == nil {
		tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	c.byeReceived(req)
}

// onReinvite answers a re-INVITE from the far end with the phone's SDP.
func (p *Phone) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	c := p.call(req)
	if c == nil {
		tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", c.RTP.offer(c.opts.Codecs, "sendrecv"))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(p.contact())
	tx.Respond(res)
}

// Options sends an out-of-dialog OPTIONS and returns the response.
func (p *Phone) Options(ctx context.Context, target string) (*sip.Response, error) {
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		return nil, err
	}
	req := sip.NewRequest(sip.OPTIONS, uri)
	req.AppendHeader(p.contact())
	p.prepare(req, fmt.Sprintf("%s:%d", uri.Host, uri.Port))
	return p.client.Do(ctx, req)
}

func (p *Phone) logf(format string, args ...any) {
	p.t.Helper()
	p.t.Logf("siptest %s: "+format, append([]any{p.User}, args...)...)
}
