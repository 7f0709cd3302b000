package siptest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parkd/parkd/sipcore/siptest"
)

var transports = []string{"udp", "tcp"}

// phones makes a caller and a callee speaking transport.
func phones(t *testing.T, transport string) (caller, callee *siptest.Phone) {
	t.Helper()
	opts := []siptest.Option{siptest.WithDisplay("Alice")}
	if transport == "tcp" {
		opts = append(opts, siptest.WithTCP())
	}
	caller = siptest.NewPhone(t, "alice", opts...)
	callee = siptest.NewPhone(t, "bob", opts[1:]...)
	return caller, callee
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func incoming(t *testing.T, ctx context.Context, p *siptest.Phone) *siptest.Incoming {
	t.Helper()
	in, err := p.Incoming(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// waitProvisional waits until the caller has seen a provisional code.
func waitProvisional(t *testing.T, c *siptest.Call, code int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(c.Provisional(), code) {
		if time.Now().After(deadline) {
			t.Fatalf("caller never saw %d (saw %v)", code, c.Provisional())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkAudio sends frames from one side and checks they arrive at the other
// with the negotiated payload type.
func checkAudio(t *testing.T, ctx context.Context, from, to *siptest.RTP, pt uint8, what string) {
	t.Helper()
	to.Drain()
	payload := bytes.Repeat([]byte{0x55}, 160)
	for i := 0; i < 3; i++ {
		if err := from.Send(payload); err != nil {
			t.Fatalf("%s: send: %v", what, err)
		}
	}
	got, err := to.Collect(ctx, 3, nil)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for _, p := range got {
		if p.PayloadType != pt || !bytes.Equal(p.Payload, payload) {
			t.Fatalf("%s: got PT %d payload %x…, want PT %d", what, p.PayloadType, p.Payload[:4], pt)
		}
	}
}

func TestIncomingAnswer(t *testing.T) {
	for _, tr := range transports {
		for _, tc := range []struct {
			name     string
			opts     siptest.CallOptions
			codec    string
			pt       uint8
			hangupBy string
		}{
			{"PCMU", siptest.CallOptions{}, "PCMU", 0, "callee"},
			{"PCMA first", siptest.CallOptions{Codecs: []string{"PCMA", "PCMU"}}, "PCMA", 8, "caller"},
			{"unknown codec first", siptest.CallOptions{Codecs: []string{"G729", "PCMA"}, NoEvent: true}, "PCMA", 8, "callee"},
			{"late offer", siptest.CallOptions{NoSDP: true}, "PCMU", 0, "caller"},
		} {
			t.Run(tr+"/"+tc.name, func(t *testing.T) {
				ctx := timeout(t)
				caller, callee := phones(t, tr)
				tc.opts.Headers = [][2]string{{"Alert-Info", "<http://127.0.0.1/ring.wav>;info=recall"}, {"Subject", "Recall 701"}}
				call, err := caller.Start(ctx, callee.URI(), tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				in := incoming(t, ctx, callee)
				if n := callee.IncomingCount(); n != 1 {
					t.Errorf("IncomingCount = %d, want 1", n)
				}
				if display, uri := in.From(); display != "Alice" || !strings.HasPrefix(uri, "sip:alice@127.0.0.1:") {
					t.Errorf("From = %q %q", display, uri)
				}
				if got := in.Header("Subject"); got != "Recall 701" {
					t.Errorf("Subject = %q", got)
				}
				if got := in.Header("Alert-Info"); !strings.Contains(got, "info=recall") {
					t.Errorf("Alert-Info = %q", got)
				}
				if in.CallID() != call.CallID() {
					t.Errorf("Call-ID %q, caller's %q", in.CallID(), call.CallID())
				}
				if err := in.Ring(); err != nil {
					t.Fatal(err)
				}
				waitProvisional(t, call, 180)

				cc, err := in.Answer(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if res, err := call.Wait(ctx); err != nil || res.StatusCode != 200 {
					t.Fatalf("caller's final: %v %v", res, err)
				}
				if cc.LocalTag() != in.Tag() || call.ToTag() != in.Tag() || cc.ToTag() != in.Tag() {
					t.Errorf("callee tag %q: call.LocalTag %q, caller's ToTag %q", in.Tag(), cc.LocalTag(), call.ToTag())
				}
				if cc.RemoteTag() != call.FromTag() || cc.FromTag() != call.FromTag() || call.LocalTag() != call.FromTag() {
					t.Errorf("caller tag %q: callee's RemoteTag %q FromTag %q", call.FromTag(), cc.RemoteTag(), cc.FromTag())
				}
				if cc.CallID() != call.CallID() || cc.Status() != 200 {
					t.Errorf("callee's call: %q %d", cc.CallID(), cc.Status())
				}
				if in.Ack() == nil || cc.Acks() != 1 || in.Call() != cc {
					t.Errorf("ACK %v, %d ACKs", in.Ack(), cc.Acks())
				}
				if got := cc.RTP.Codec(); got != tc.codec {
					t.Errorf("callee codec %q, want %q", got, tc.codec)
				}
				if got := call.RTP.Codec(); got != tc.codec {
					t.Errorf("caller codec %q, want %q", got, tc.codec)
				}
				checkAudio(t, ctx, call.RTP, cc.RTP, tc.pt, "caller to callee")
				checkAudio(t, ctx, cc.RTP, call.RTP, tc.pt, "callee to caller")

				switch tc.hangupBy {
				case "callee":
					res, err := cc.Hangup(ctx)
					if err != nil || res.StatusCode != 200 {
						t.Fatalf("BYE: %v %v", res, err)
					}
					bye, err := call.WaitHangup(ctx)
					if err != nil {
						t.Fatal(err)
					}
					// The callee's BYE is in its own dialog role.
					if got := tag(bye.From().Params); got != in.Tag() || bye.From().Address.User != "bob" {
						t.Errorf("BYE From %s, want bob's tag %s", bye.From().Value(), in.Tag())
					}
					if got := tag(bye.To().Params); got != call.FromTag() || bye.To().Address.User != "alice" {
						t.Errorf("BYE To %s, want alice's tag %s", bye.To().Value(), call.FromTag())
					}
					if got := "sip:alice@" + bye.Recipient.HostPort(); got != caller.URI() {
						t.Errorf("BYE Request-URI %s, want alice's Contact %s", bye.Recipient.String(), caller.URI())
					}
					if cseq := bye.CSeq(); cseq.MethodName != sip.BYE || cseq.SeqNo != 1 {
						t.Errorf("BYE CSeq %s", cseq.Value())
					}
					if cc.HungUp() {
						t.Error("the callee that hung up has a BYE")
					}
				case "caller":
					if res, err := call.Hangup(ctx); err != nil || res.StatusCode != 200 {
						t.Fatalf("BYE: %v %v", res, err)
					}
					bye, err := cc.WaitHangup(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if tag(bye.To().Params) != in.Tag() {
						t.Errorf("BYE To %s, want tag %s", bye.To().Value(), in.Tag())
					}
				}
			})
		}
	}
}

func TestIncomingReinvite(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ctx := timeout(t)
			caller, callee := phones(t, tr)
			call, err := caller.Start(ctx, callee.URI(), siptest.CallOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cc, err := incoming(t, ctx, callee).Answer(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := call.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			// The caller puts the call on hold: the callee answers and
			// counts the ACK.
			if res, err := call.Reinvite(ctx, "sendonly"); err != nil || res.StatusCode != 200 {
				t.Fatalf("caller's re-INVITE: %v %v", res, err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for cc.Acks() < 2 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if cc.Acks() != 2 {
				t.Errorf("callee got %d ACKs, want 2", cc.Acks())
			}
			// And the callee sends one of its own, in its dialog role.
			res, err := cc.Reinvite(ctx, "sendrecv")
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("callee's re-INVITE: %v %v", res, err)
			}
			if tag(res.From().Params) != cc.LocalTag() || tag(res.To().Params) != call.FromTag() {
				t.Errorf("re-INVITE answered with From %s To %s", res.From().Value(), res.To().Value())
			}
			if res.CSeq().SeqNo != 1 {
				t.Errorf("callee's first request has CSeq %d", res.CSeq().SeqNo)
			}
			checkAudio(t, ctx, cc.RTP, call.RTP, 0, "after re-INVITE")
			if _, err := cc.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			bye, err := call.WaitHangup(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if bye.CSeq().SeqNo != 2 {
				t.Errorf("BYE after re-INVITE has CSeq %d", bye.CSeq().SeqNo)
			}
		})
	}
}

func TestIncomingReject(t *testing.T) {
	for _, tr := range transports {
		for _, code := range []int{486, 603} {
			t.Run(fmt.Sprint(tr, "/", code), func(t *testing.T) {
				ctx := timeout(t)
				caller, callee := phones(t, tr)
				call, err := caller.Start(ctx, callee.URI(), siptest.CallOptions{})
				if err != nil {
					t.Fatal(err)
				}
				in := incoming(t, ctx, callee)
				if err := in.Ring(); err != nil {
					t.Fatal(err)
				}
				if err := in.Reject(code); err != nil {
					t.Fatal(err)
				}
				res, err := call.Wait(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if res.StatusCode != code || tag(res.To().Params) != in.Tag() {
					t.Errorf("caller got %d with To %s, want %d with tag %s", res.StatusCode, res.To().Value(), code, in.Tag())
				}
				if _, err := in.Answer(ctx); err == nil {
					t.Error("Answer after Reject worked")
				}
				if err := in.Reject(480); err == nil {
					t.Error("a second Reject worked")
				}
				if in.Call() != nil {
					t.Error("a rejected INVITE has a call")
				}
			})
		}
	}
}

func TestIncomingCancel(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ctx := timeout(t)
			caller, callee := phones(t, tr)
			call, err := caller.Start(ctx, callee.URI(), siptest.CallOptions{})
			if err != nil {
				t.Fatal(err)
			}
			in := incoming(t, ctx, callee)
			if err := in.Ring(); err != nil {
				t.Fatal(err)
			}
			waitProvisional(t, call, 180)
			select {
			case <-in.Canceled():
				t.Fatal("canceled before the CANCEL")
			default:
			}
			if res, err := call.Cancel(ctx); err != nil || res.StatusCode != 200 {
				t.Fatalf("CANCEL: %v %v", res, err)
			}
			if err := in.WaitCanceled(ctx); err != nil {
				t.Fatal(err)
			}
			if req := in.CancelRequest(); req == nil || req.Method != sip.CANCEL {
				t.Errorf("CancelRequest = %v", req)
			}
			if res, err := call.Wait(ctx); err != nil || res.StatusCode != 487 {
				t.Fatalf("caller's final: %v %v", res, err)
			}
			if _, err := in.Answer(ctx); err == nil {
				t.Error("Answer after CANCEL worked")
			}
			if err := in.Ring(); err == nil {
				t.Error("Ring after CANCEL worked")
			}
			if in.Call() != nil || in.Ack() != nil {
				t.Error("a canceled INVITE has a call")
			}
		})
	}
}

// The phone answers as the CANCEL arrives, before sipgo's 487: the siptest
// caller takes the 200, ACKs it and can hang up.
func TestIncomingAnswerOnCancel(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ctx := timeout(t)
			caller, callee := phones(t, tr)
			call, err := caller.Start(ctx, callee.URI(), siptest.CallOptions{})
			if err != nil {
				t.Fatal(err)
			}
			in := incoming(t, ctx, callee)
			if err := in.Ring(); err != nil {
				t.Fatal(err)
			}
			if err := in.AnswerOnCancel(); err != nil {
				t.Fatal(err)
			}
			if _, err := in.Answer(ctx); err == nil {
				t.Error("Answer worked on an INVITE armed to answer on CANCEL")
			}
			waitProvisional(t, call, 180)
			if _, err := call.Cancel(ctx); err != nil {
				t.Fatal(err)
			}
			if res, err := call.Wait(ctx); err != nil || res.StatusCode != 200 {
				t.Fatalf("caller's final: %v %v", res, err)
			}
			cc, err := in.AnswerAfterCancel(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cc.WaitAck(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := call.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := cc.WaitHangup(ctx); err != nil {
				t.Fatal(err)
			}
			if again, err := in.AnswerAfterCancel(ctx); again != cc || err != nil {
				t.Errorf("AnswerAfterCancel again: %v %v", again, err)
			}
		})
	}
}

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

func TestIncomingQueue(t *testing.T) {
	ctx := timeout(t)
	caller, callee := phones(t, "udp")
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if in, err := callee.Incoming(short); err == nil {
		t.Fatalf("Incoming without a call: %v", in.Request().StartLine())
	}
	if n := callee.IncomingCount(); n != 0 {
		t.Fatalf("IncomingCount = %d before any INVITE", n)
	}
	var ids []string
	for i := 0; i < 3; i++ {
		call, err := caller.Start(ctx, callee.URI(), siptest.CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, call.CallID())
		// Wait for the phone to have it, so the order is known.
		for callee.IncomingCount() < i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	for i, id := range ids {
		in := incoming(t, ctx, callee)
		if in.CallID() != id {
			t.Errorf("INVITE %d is %s, want %s", i, in.CallID(), id)
		}
		if err := in.Reject(486); err != nil {
			t.Fatal(err)
		}
	}
	if n := callee.IncomingCount(); n != 3 {
		t.Errorf("IncomingCount = %d, want 3", n)
	}
	if n := caller.IncomingCount(); n != 0 {
		t.Errorf("the caller rang %d times", n)
	}
	callee.Close()
	if _, err := callee.Incoming(ctx); err == nil {
		t.Error("Incoming on a closed phone")
	}
}
