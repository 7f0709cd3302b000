package siptest_test

import (
	"bytes"
	"context"
	"fmt"
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
