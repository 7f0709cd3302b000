package siptest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// A UAC written by hand: it sees every response on the wire, in order.
type rawUAC struct {
	t         *testing.T
	transport string
	local     string // host:port
	remote    string
	conn      net.Conn       // tcp
	pc        net.PacketConn // udp
	msgs      chan received
	seen      []string // "487 INVITE" … in arrival order
	got       []*sip.Response
	source    map[*sip.Response]string // the address each came from
	requests  []received               // requests from the phone, unread
}

type received struct {
	msg    sip.Message
	source string
}

func newRawUAC(t *testing.T, transport, remote string) *rawUAC {
	u := &rawUAC{t: t, transport: transport, remote: remote, msgs: make(chan received, 64), source: map[*sip.Response]string{}}
	if transport == "tcp" {
		conn, err := net.Dial("tcp", remote)
		if err != nil {
			t.Fatal(err)
		}
		u.conn, u.local = conn, conn.LocalAddr().String()
		t.Cleanup(func() { conn.Close() })
		go func() {
			stream := sip.NewParser().NewSIPStream()
			buf := make([]byte, 65535)
			for {
				n, err := conn.Read(buf)
				if err != nil {
					return
				}
				err = stream.ParseSIPStream(buf[:n], func(m sip.Message) { u.msgs <- received{m, conn.RemoteAddr().String()} })
				if err != nil && !errors.Is(err, sip.ErrParseSipPartial) {
					t.Errorf("raw UAC: %v", err)
					return
				}
			}
		}()
		return u
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.pc, u.local = pc, pc.LocalAddr().String()
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
			if err != nil {
				t.Errorf("raw UAC: %v", err)
				return
			}
			u.msgs <- received{m, from.String()}
		}
	}()
	return u
}

// send writes a request; lines are joined with CRLF and Via, Max-Forwards
// and Content-Length are added.
func (u *rawUAC) send(branch, body string, lines ...string) {
	u.t.Helper()
	via := fmt.Sprintf("Via: SIP/2.0/%s %s;branch=z9hG4bK%s", strings.ToUpper(u.transport), u.local, branch)
	msg := strings.Join(append(append(lines[:1:1], via, "Max-Forwards: 70"), lines[1:]...), "\r\n") +
		fmt.Sprintf("\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	u.write(msg, u.remote)
}

func (u *rawUAC) write(msg, to string) {
	u.t.Helper()
	var err error
	if u.conn != nil {
		_, err = u.conn.Write([]byte(msg))
	} else {
		var addr *net.UDPAddr
		if addr, err = net.ResolveUDPAddr("udp", to); err == nil {
			_, err = u.pc.WriteTo([]byte(msg), addr)
		}
	}
	if err != nil {
		u.t.Fatal(err)
	}
}

// request waits for a request from the phone and answers it 200.
func (u *rawUAC) request(ctx context.Context, method sip.RequestMethod) *sip.Request {
	u.t.Helper()
	for len(u.requests) == 0 {
		u.read(ctx, fmt.Sprint("a ", method))
	}
	r := u.requests[0]
	u.requests = u.requests[1:]
	req := r.msg.(*sip.Request)
	if req.Method != method {
		u.t.Fatalf("got %s, want %s", req.Method, method)
	}
	u.write(sip.NewResponseFromRequest(req, 200, "OK", nil).String(), r.source)
	return req
}

// read takes one message off the wire, failing the test if none comes.
func (u *rawUAC) read(ctx context.Context, want string) {
	u.t.Helper()
	select {
	case r := <-u.msgs:
		res, ok := r.msg.(*sip.Response)
		if !ok {
			u.requests = append(u.requests, r)
			return
		}
		u.source[res] = r.source
		u.seen = append(u.seen, fmt.Sprintf("%d %s", res.StatusCode, res.CSeq().MethodName))
		u.got = append(u.got, res)
	case <-ctx.Done():
		u.t.Fatalf("no %s (responses %v)", want, u.seen)
	}
}

// response returns the first response with this code to method, waiting
// for it; every response is logged in arrival order.
func (u *rawUAC) response(ctx context.Context, code int, method sip.RequestMethod) *sip.Response {
	u.t.Helper()
	want := fmt.Sprintf("%d %s", code, method)
	for {
		for i, what := range u.seen {
			if what == want {
				return u.got[i]
			}
		}
		u.read(ctx, want)
	}
}

func (u *rawUAC) index(what string) int { return slices.Index(u.seen, what) }

// The late 200 both ways, read off the wire by a hand-written UAC, which
// then ACKs and hangs up the call as a UAC must.
func TestIncomingLate200(t *testing.T) {
	for _, tr := range transports {
		for _, mode := range []string{"after 487", "on CANCEL"} {
			t.Run(tr+"/"+mode, func(t *testing.T) {
				ctx := timeout(t)
				_, callee := phones(t, tr)
				host, _, _ := strings.Cut(callee.URI(), ";")
				u := newRawUAC(t, tr, strings.TrimPrefix(host, "sip:bob@"))
				callID := sip.GenerateTagN(16) + "@raw"
				// A From unlike the Contact: the phone must send to the Contact.
				from := "From: <sip:raw@raw.invalid>;tag=rawtag"
				contact := fmt.Sprintf("sip:raw@%s;transport=%s", u.local, tr)
				to := "To: <" + host + ">"
				sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
				u.send("inv1", sdp, "INVITE "+host+" SIP/2.0", from, to, "Call-ID: "+callID, "CSeq: 1 INVITE",
					"Contact: <"+contact+">", "Record-Route: <sip:proxy1.invalid;lr>", "Record-Route: <sip:proxy2.invalid;lr>",
					"Content-Type: application/sdp")

				in := incoming(t, ctx, callee)
				if err := in.Ring(); err != nil {
					t.Fatal(err)
				}
				if mode == "on CANCEL" {
					if err := in.AnswerOnCancel(); err != nil {
						t.Fatal(err)
					}
				}
				u.response(ctx, 180, sip.INVITE)
				u.send("inv1", "", "CANCEL "+host+" SIP/2.0", from, to, "Call-ID: "+callID, "CSeq: 1 CANCEL")
				if err := in.WaitCanceled(ctx); err != nil {
					t.Fatal(err)
				}
				var terminated *sip.Response
				if mode == "after 487" {
					terminated = u.response(ctx, 487, sip.INVITE)
				}
				cc, err := in.AnswerAfterCancel(ctx)
				if err != nil {
					t.Fatal(err)
				}
				ok := u.response(ctx, 200, sip.INVITE)
				u.response(ctx, 200, sip.CANCEL)
				if got := tag(ok.To().Params); got != in.Tag() || got != cc.LocalTag() {
					t.Errorf("200 To tag %q, want %q", got, in.Tag())
				}
				if len(ok.Body()) == 0 || ok.Contact() == nil || len(ok.GetHeaders("Record-Route")) != 2 {
					t.Fatalf("200 without SDP, Contact or Record-Route:\n%s", ok)
				}
				// Over UDP too the 200 comes from the phone's listener.
				if src := u.source[ok]; "sip:bob@"+src != host || "sip:bob@"+ok.Contact().Address.HostPort() != host {
					t.Errorf("200 from %s with Contact %s, phone %s", src, ok.Contact().Address.String(), host)
				}

				// The UAC's transaction ACKs the 487 (with sipgo's tag);
				// that ACK must not count as the 200's.
				ackTo := to + ";tag="
				if mode == "after 487" {
					u.send("inv1", "", "ACK "+host+" SIP/2.0", from, ackTo+tag(terminated.To().Params), "Call-ID: "+callID, "CSeq: 1 ACK")
				}
				target := ok.Contact().Address.String()
				u.send("ack2", "", "ACK "+target+" SIP/2.0", from, ackTo+in.Tag(), "Call-ID: "+callID, "CSeq: 1 ACK")
				if _, err := cc.WaitAck(ctx); err != nil {
					t.Fatal(err)
				}
				// One UAC hangs up, the other phone: either way the BYE
				// must find its dialog.
				if mode == "after 487" {
					u.send("bye3", "", "BYE "+target+" SIP/2.0", from, ackTo+in.Tag(), "Call-ID: "+callID, "CSeq: 2 BYE")
					if _, err := cc.WaitHangup(ctx); err != nil {
						t.Fatal(err)
					}
					u.response(ctx, 200, sip.BYE)
				} else {
					hungUp := make(chan error, 1)
					go func() { _, err := cc.Hangup(ctx); hungUp <- err }()
					bye := u.request(ctx, sip.BYE)
					if bye.Recipient.String() != contact || tag(bye.From().Params) != in.Tag() || tag(bye.To().Params) != "rawtag" {
						t.Errorf("BYE to %s From %s To %s", bye.Recipient.String(), bye.From().Value(), bye.To().Value())
					}
					// The UAS keeps the Record-Route order.
					var routes []string
					for _, h := range bye.GetHeaders("Route") {
						routes = append(routes, h.Value())
					}
					if want := []string{"<sip:proxy1.invalid;lr>", "<sip:proxy2.invalid;lr>"}; !slices.Equal(routes, want) {
						t.Errorf("BYE routes %q, want %q", routes, want)
					}
					if err := <-hungUp; err != nil {
						t.Fatal(err)
					}
				}
				if cc.Acks() != 1 || in.Ack() == nil {
					t.Errorf("%d ACKs counted, want 1", cc.Acks())
				}
				// Crossing the CANCEL, the 200 leaves no room for a 487.
				if mode == "on CANCEL" && u.index("487 INVITE") >= 0 {
					t.Errorf("a 487 came after the 200: %v", u.seen)
				}
			})
		}
	}
}
