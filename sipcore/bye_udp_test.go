package sipcore

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// answeredRawCall parks a call from phone, a raw peer that answers only
// what the test makes it, and returns parkd's side of it once ACKed.
func answeredRawCall(t *testing.T, h *doorHandler, addr string, phone *rawPeer, callID string) *Call {
	t.Helper()
	from := "From: <sip:raw@127.0.0.1>;tag=caller-" + callID
	phone.send(addr, testSDP, "INVITE sip:park@"+addr+" SIP/2.0", phone.via("inv-"+callID), from, "To: <sip:park@"+addr+">",
		"Call-ID: "+callID, "CSeq: 1 INVITE", "Contact: <sip:raw@"+phone.addr.String()+">", "Content-Type: application/sdp")
	ok := phone.response(testCtx(t), 200, sip.INVITE)
	phone.send(addr, "", "ACK sip:parkd@"+addr+" SIP/2.0", phone.via("ack-"+callID), from, "To: "+ok.To().Value(),
		"Call-ID: "+callID, "CSeq: 1 ACK")
	c := receive(t, h.calls, "the answered call")
	// A hang-up that overtook the ACK would leave parkd resending its 200,
	// which the tests below would take for a stray message.
	receive(t, c.Confirmed(), "the ACK taken")
	return c
}

// nextBye waits for the next BYE phone receives.
func nextBye(ctx context.Context, phone *rawPeer) *sip.Request {
	for {
		if req, ok := phone.next(ctx).(*sip.Request); ok && req.Method == sip.BYE {
			return req
		}
	}
}

// hangingUp starts hanging c up and returns a channel closed once Hangup
// returned.
func hangingUp(ctx context.Context, c *Call) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Hangup(ctx, "test")
	}()
	return done
}

// The BYE parkd sends over UDP is a complete in-dialog request (RFC 3261
// §8.1.1, §12.2.1.1) and its own transaction: resent unchanged by Timer E
// while unanswered, ended by its final response, whatever the code, or
// slowed but not ended by a provisional one; once ended it is not resent.
func TestByeRetransmitsUntilItsFinalResponse(t *testing.T) {
	cases := []struct {
		name    string
		answers []int // given to successive copies of the BYE; 0 answers nothing
	}{
		{"200 to the first", []int{200}},
		{"200 to the third", []int{0, 0, 200}},
		{"481 ends it too", []int{0, 481}},
		{"100 then 200", []int{100, 0, 200}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep, h, addr := newDoorEndpoint(t, nil)
			ep.notifier.t1, ep.notifier.t2 = 100*time.Millisecond, 400*time.Millisecond
			ctx := testCtx(t)
			phone := newRawPeer(t, "127.0.0.1")
			callID := "bye-retransmit-" + string(rune('a'+i))
			c := answeredRawCall(t, h, addr, phone, callID)
			done := hangingUp(ctx, c)

			first := nextBye(ctx, phone)
			checkByeHeaders(t, first, c, callID)
			bye := first
			for n, code := range tc.answers {
				if n > 0 {
					bye = nextBye(ctx, phone)
					if bye.String() != first.String() {
						t.Fatalf("copy %d of the BYE differs:\n%s\nfirst:\n%s", n+1, bye, first)
					}
				}
				if code != 0 {
					phone.answer(addr, bye, code)
				}
			}
			receive(t, done, "Hangup to return after the final response")
			select {
			case <-c.Done():
			default:
				t.Fatal("Hangup returned before the call ended")
			}
			phone.silent(300 * time.Millisecond) // no copy after the final response
		})
	}
}

func checkByeHeaders(t *testing.T, bye *sip.Request, c *Call, callID string) {
	t.Helper()
	via := bye.Via()
	branch, _ := via.Params.Get("branch")
	if via.Transport != "UDP" || !strings.HasPrefix(branch, sip.RFC3261BranchMagicCookie) || !via.Params.Has("rport") {
		t.Errorf("Via %q: want UDP, an RFC 3261 branch and rport", via.Value())
	}
	if mf := bye.MaxForwards(); mf == nil || mf.Val() != 70 {
		t.Errorf("Max-Forwards %v, want 70", mf)
	}
	if cl := bye.ContentLength(); cl == nil || *cl != 0 || len(bye.Body()) != 0 {
		t.Errorf("Content-Length %v, body %q: want 0 and none", cl, bye.Body())
	}
	if bye.CallID().Value() != callID || bye.CSeq().MethodName != sip.BYE {
		t.Errorf("Call-ID %s CSeq %s", bye.CallID().Value(), bye.CSeq().Value())
	}
	if tag, _ := bye.To().Params.Get("tag"); tag != "caller-"+callID {
		t.Errorf("To tag %q, want the caller's", tag)
	}
	if tag, _ := bye.From().Params.Get("tag"); tag != c.ID.LocalTag {
		t.Errorf("From tag %q, want parkd's %q", tag, c.ID.LocalTag)
	}
	if r := bye.GetHeader("Reason"); r == nil || !strings.Contains(r.Value(), "cause=16") {
		t.Errorf("Reason %v, want the normal clearing cause", r)
	}
}

// A BYE nobody answers is resent until Timer F (64·T1), and then the
// call ends anyway; Hangup's ctx ending first stops the resending at once.
func TestUnansweredByeEndsTheCall(t *testing.T) {
	t.Run("Timer F", func(t *testing.T) {
		ep, h, addr := newDoorEndpoint(t, nil)
		ep.notifier.t1 = 20 * time.Millisecond // Timer F 1.28 s
		ctx := testCtx(t)
		phone := newRawPeer(t, "127.0.0.1")
		c := answeredRawCall(t, h, addr, phone, "bye-timer-f")
		start := time.Now()
		done := hangingUp(ctx, c)
		receive(t, done, "Hangup to give up")
		timerF := 64 * ep.notifier.t1
		if took := time.Since(start); took < timerF || took > timerF+2*time.Second {
			t.Errorf("Hangup gave up after %v, want Timer F (%v)", took, timerF)
		}
		copies := 0
		for len(phone.msgs) > 0 {
			if req, ok := (<-phone.msgs).(*sip.Request); ok && req.Method == sip.BYE {
				copies++
			}
		}
		// 0, 20, 60, 140, 300, 620 ms…: at least six copies in 1.28 s.
		if copies < 6 {
			t.Errorf("BYE sent %d times before Timer F, want Timer E's retransmissions", copies)
		}
		phone.silent(200 * time.Millisecond)
	})
	t.Run("ctx", func(t *testing.T) {
		ep, h, addr := newDoorEndpoint(t, nil)
		ep.notifier.t1 = 100 * time.Millisecond
		phone := newRawPeer(t, "127.0.0.1")
		c := answeredRawCall(t, h, addr, phone, "bye-ctx")
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		done := hangingUp(ctx, c)
		nextBye(testCtx(t), phone)
		receive(t, done, "Hangup to return when its ctx ended")
		select {
		case <-c.Done():
		default:
			t.Fatal("the call did not end")
		}
		phone.silent(300 * time.Millisecond) // Timer E would have resent it by now
		ep.notifier.mu.Lock()
		defer ep.notifier.mu.Unlock()
		if n := len(ep.notifier.byID); n != 0 {
			t.Errorf("%d transactions left in flight", n)
		}
	})
}

// byeAnswerer answers every request it receives with a 200 built from
// the request's own Via, From, To, Call-ID and CSeq lines, as cheaply for
// any sender as a phone's stack would.
func byeAnswerer(tb testing.TB) netip.AddrPort {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			res := []byte("SIP/2.0 200 OK\r\n")
			for _, line := range strings.Split(string(buf[:n]), "\r\n") {
				name, _, _ := strings.Cut(line, ":")
				switch strings.ToLower(name) {
				case "via", "from", "to", "call-id", "cseq":
					res = append(res, line...)
					res = append(res, "\r\n"...)
				}
			}
			res = append(res, "Content-Length: 0\r\n\r\n"...)
			conn.WriteToUDPAddrPort(res, from)
		}
	}()
	return conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// BenchmarkBye is one BYE and its 200, the way a call that parkd ends
// sends it: parkd's own transaction (own), or sipgo's client transaction
// it replaced (sipgo). Compare the two in one run.
func BenchmarkBye(b *testing.B) {
	ep, _, _ := newDoorEndpoint(b, nil)
	peerAddr := byeAnswerer(b)
	l, _ := ep.listenerFor("udp")
	p := dialogPeer{
		callID:       "bench-bye",
		remoteTarget: sip.Uri{Scheme: "sip", User: "phone", Host: peerAddr.Addr().String(), Port: int(peerAddr.Port())},
		transport:    "udp",
		source:       peerAddr.String(),
	}
	p.local.Address = sip.Uri{Scheme: "sip", User: "park", Host: l.addr.Addr().String()}
	p.local.Params.Add("tag", "parkd")
	p.remote.Address = p.remoteTarget
	p.remote.Params.Add("tag", "phone")
	ctx := context.Background()
	for _, mode := range []string{"own", "sipgo"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(8) // calls end together, as under load: the round trips overlap
			before := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				p := p
				for pb.Next() {
					bye := p.newRequest(ep, sip.BYE)
					bye.AppendHeader(reasonHeader(CauseNormalClearing, "bench"))
					var status int
					var err error
					if mode == "own" {
						status, err = ep.sendBye(ctx, bye, peerAddr)
					} else {
						status, err = ep.request(ctx, bye)
					}
					if err != nil || status != 200 {
						b.Errorf("%d %v", status, err)
						return
					}
				}
			})
			// Wall time is the round trips'; what the process spent on
			// them (the answerer's share is the same in both) is the cost.
			b.ReportMetric(float64((processCPU()-before).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// After a provisional response the BYE is resent every T2, not on T1's
// doubling (RFC 3261 §17.1.2.2).
func TestByeAfterAProvisionalIsResentEveryT2(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	ep.notifier.t1, ep.notifier.t2 = 50*time.Millisecond, 400*time.Millisecond
	ctx := testCtx(t)
	phone := newRawPeer(t, "127.0.0.1")
	c := answeredRawCall(t, h, addr, phone, "bye-t2")
	done := hangingUp(ctx, c)
	first := nextBye(ctx, phone)
	phone.answer(addr, first, 100)
	nextBye(ctx, phone) // Timer E as armed when the BYE left: T1
	second := time.Now()
	third := nextBye(ctx, phone)
	// On T1's doubling the next copy would come 100 ms later.
	if gap := time.Since(second); gap < 300*time.Millisecond {
		t.Errorf("copy 3 came %v after copy 2, want T2 (400 ms) after the 100", gap)
	}
	phone.answer(addr, third, 200)
	receive(t, done, "Hangup to return after the 200")
}

// A BYE follows the dialog's route set (RFC 3261 §12.2.1.1): sent to the
// first route, whose port is 5060 when it names none, with the remote
// target as its Request-URI and the routes as Route headers.
func TestByeFollowsTheRouteSet(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	ep.notifier.t1 = 100 * time.Millisecond
	ctx := testCtx(t)
	phone := newRawPeer(t, "127.0.0.1")
	proxy := newRawPeer(t, "127.0.0.2")
	callID := "bye-route"
	rr := "<sip:" + proxy.addr.String() + ";lr>"
	from := "From: <sip:raw@127.0.0.1>;tag=caller-" + callID
	phone.send(addr, testSDP, "INVITE sip:park@"+addr+" SIP/2.0", phone.via("inv"), from, "To: <sip:park@"+addr+">",
		"Call-ID: "+callID, "CSeq: 1 INVITE", "Contact: <sip:raw@"+phone.addr.String()+">",
		"Record-Route: "+rr, "Content-Type: application/sdp")
	ok := phone.response(ctx, 200, sip.INVITE)
	phone.send(addr, "", "ACK sip:parkd@"+addr+" SIP/2.0", phone.via("ack"), from, "To: "+ok.To().Value(),
		"Call-ID: "+callID, "CSeq: 1 ACK")
	c := receive(t, h.calls, "the answered call")
	done := hangingUp(ctx, c)
	bye := nextBye(ctx, proxy)
	if got := bye.Recipient.String(); got != "sip:raw@"+phone.addr.String() {
		t.Errorf("Request-URI %s, want the caller's Contact", got)
	}
	if r := bye.GetHeader("Route"); r == nil || r.Value() != rr {
		t.Errorf("Route %v, want %s", r, rr)
	}
	proxy.answer(addr, bye, 200)
	receive(t, done, "Hangup to return after the 200")
	phone.silent(200 * time.Millisecond) // nothing past the proxy
}

func TestUDPDestination(t *testing.T) {
	target := sip.Uri{Scheme: "sip", User: "phone", Host: "10.0.0.9", Port: 5070}
	named := sip.Uri{Scheme: "sip", User: "phone", Host: "phone.example.com", Port: 5070}
	cases := []struct {
		name   string
		target sip.Uri
		routes []string
		want   string // "" when there is nowhere to send
	}{
		{"remote target", target, nil, "10.0.0.9:5070"},
		{"remote target without a port", sip.Uri{Scheme: "sip", Host: "10.0.0.9"}, nil, "10.0.0.9:5060"},
		{"first route", target, []string{"<sip:10.0.0.1:5080;lr>", "<sip:10.0.0.2;lr>"}, "10.0.0.1:5080"},
		{"first route without a port", target, []string{"<sip:10.0.0.1;lr>"}, "10.0.0.1:5060"},
		{"IPv6 route", target, []string{"<sip:[2001:db8::1];lr>"}, "[2001:db8::1]:5060"},
		{"named target: the source, never resolved", named, nil, "192.0.2.7:5062"},
		{"named route: the source", target, []string{"<sip:proxy.example.com;lr>"}, "192.0.2.7:5062"},
		{"unreadable route: the source", target, []string{"<sip:"}, "192.0.2.7:5062"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := dialogPeer{remoteTarget: tc.target, routeSet: tc.routes, source: "192.0.2.7:5062", transport: "udp"}
			got, ok := p.udpDestination()
			if tc.want == "" {
				if ok {
					t.Fatalf("got %v, want nowhere", got)
				}
				return
			}
			if !ok || got.String() != tc.want {
				t.Errorf("got %v %v, want %s", got, ok, tc.want)
			}
		})
	}
}
