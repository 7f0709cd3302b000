package sipcore

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore/siptest"
)

// newLoggedEndpoint is newDoorEndpoint with its log kept, and a TCP
// listener too when asked.
func newLoggedEndpoint(t *testing.T, listen ...ListenAddr) (*Endpoint, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	ep, _, _ := newDoorEndpoint(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		c.Listen = append(c.Listen, listen...)
	})
	return ep, logs
}

// originate runs ep.Originate in the background with a context its caller
// never cancels, as a parkd path that forgot to would.
func originateInBackground(ep *Endpoint, targets ...string) <-chan error {
	done := make(chan error, 1)
	go func() {
		c, err := ep.Originate(context.Background(), Originate{Targets: targets, From: Party{URI: "sip:parkd@127.0.0.1"}})
		if c != nil {
			err = errors.New("Originate returned a call")
		}
		done <- err
	}()
	return done
}

// shutdown runs ep.Shutdown in the background and reports its return.
func shutdownInBackground(ep *Endpoint, d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		ep.Shutdown(ctx)
	}()
	return done
}

func ringingAt(t *testing.T, ctx context.Context, p *siptest.Phone) *siptest.Incoming {
	t.Helper()
	in, err := p.Incoming(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Ring(); err != nil {
		t.Fatal(err)
	}
	return in
}

// Shutdown CANCELs every branch still ringing (here one over UDP, one over
// TCP), though the Originate's caller never canceled its context, and
// returns once each branch has its final response; the Originate returns
// as stopped.
func TestShutdownCancelsRingingBranches(t *testing.T) {
	ep, logs := newLoggedEndpoint(t, ListenAddr{"tcp", "127.0.0.1:0"})
	ctx := testCtx(t)
	alice, bob := siptest.NewPhone(t, "alice"), siptest.NewPhone(t, "bob", siptest.WithTCP())
	result := originateInBackground(ep, alice.URI(), bob.URI()+";transport=tcp")
	aliceIn, bobIn := ringingAt(t, ctx, alice), ringingAt(t, ctx, bob)

	stopped := shutdownInBackground(ep, 4*time.Second)
	for name, in := range map[string]*siptest.Incoming{"alice": aliceIn, "bob": bobIn} {
		if err := in.WaitCanceled(ctx); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	select {
	case <-stopped:
	case <-ctx.Done():
		t.Fatal("Shutdown did not return")
	}
	// Over TCP a CANCEL without Content-Length cannot be framed: the
	// phone's stack must have parsed it, and answered 487 (which ended the
	// branch before Shutdown's time ran out, checked below).
	if c := bobIn.CancelRequest(); c == nil || c.ContentLength() == nil {
		t.Errorf("the TCP phone could not read its CANCEL: %v", c)
	}
	var oe *OriginateError
	if err := <-result; !errors.As(err, &oe) || !oe.Canceled {
		t.Errorf("Originate returned %v, want an OriginateError saying it stopped ringing", err)
	}
	out := logs.String()
	if !strings.Contains(out, "shutdown: canceling 2 ringing branches") {
		t.Errorf("no line counting the canceled branches in the log:\n%s", out)
	}
	if strings.Contains(out, "did not finish in time") {
		t.Errorf("Shutdown gave up waiting for the canceled branches:\n%s", out)
	}
	if n := ep.inflight.pending(); n != 0 {
		t.Errorf("%d branches still in flight after Shutdown", n)
	}
}

// A 200 that crosses the shutdown's CANCEL is ACKed and hung up, with the
// Reason every call gets at shutdown, before Shutdown returns.
func TestShutdownHangsUpAnswerCrossingCancel(t *testing.T) {
	t.Run("udp", func(t *testing.T) {
		ep, logs := newLoggedEndpoint(t)
		bob := siptest.NewPhone(t, "bob")
		testAnswerCrossingShutdownCancel(t, ep, logs, bob, bob.URI())
	})
	t.Run("tcp", func(t *testing.T) {
		ep, logs := newLoggedEndpoint(t, ListenAddr{"tcp", "127.0.0.1:0"})
		bob := siptest.NewPhone(t, "bob", siptest.WithTCP())
		testAnswerCrossingShutdownCancel(t, ep, logs, bob, bob.URI()+";transport=tcp")
	})
}

func testAnswerCrossingShutdownCancel(t *testing.T, ep *Endpoint, logs *logBuffer, bob *siptest.Phone, target string) {
	ctx := testCtx(t)
	result := originateInBackground(ep, target)
	in := ringingAt(t, ctx, bob)
	if err := in.AnswerOnCancel(); err != nil {
		t.Fatal(err)
	}

	stopped := shutdownInBackground(ep, 4*time.Second)
	call, err := in.AnswerAfterCancel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	case <-ctx.Done():
		t.Fatal("Shutdown did not return")
	}
	if _, err := call.WaitAck(hangupCtx(t)); err != nil {
		t.Errorf("the late 200 was never ACKed: %v", err)
	}
	// Once Shutdown has returned parkd can send nothing more: a BYE the
	// phone records now was sent before. (The phone answers a BYE before
	// it records it, so it may record it a moment after parkd's return.)
	bye, err := call.WaitHangup(hangupCtx(t))
	if err != nil {
		t.Fatalf("the late 200 got no BYE: %v; log:\n%s", err, logs.String())
	}
	if reason := bye.GetHeader("Reason"); reason == nil || !strings.Contains(reason.Value(), "cause=41") {
		t.Errorf("BYE Reason %v, want Q.850 cause=41", reason)
	}
	if err := <-result; err == nil {
		t.Error("Originate succeeded")
	}
	if n := ep.Calls(); n != 0 {
		t.Errorf("%d calls left after Shutdown", n)
	}
}

// A branch that never had a provisional response cannot be canceled (RFC
// 3261 §9.1): Shutdown waits for it no longer than its context, and sends
// it no CANCEL. An Originate while Shutdown runs fails.
func TestShutdownDoesNotWaitForSilentTarget(t *testing.T) {
	ep, logs := newLoggedEndpoint(t)
	ctx := testCtx(t)
	silent := newRawPeer(t, "127.0.0.1") // reads and never answers
	result := originateInBackground(ep, "sip:mute@"+silent.addr.String())
	if inv, ok := silent.next(ctx).(*sip.Request); !ok || inv.Method != sip.INVITE {
		t.Fatalf("silent target got %v, want the INVITE", inv)
	}

	stopped := shutdownInBackground(ep, 300*time.Millisecond)
	waitFor(t, "Shutdown to begin", ep.draining.Load)
	c, err := ep.Originate(ctx, Originate{Targets: []string{"sip:late@127.0.0.1:9"}, From: Party{URI: "sip:parkd@127.0.0.1"}})
	if c != nil || !errors.Is(err, errDraining) {
		t.Errorf("Originate during Shutdown returned (%v, %v), want the shutting-down error", c, err)
	}
	select {
	case <-stopped:
	case <-time.After(3 * time.Second):
		t.Fatal("Shutdown hung on a target that never answered")
	}
	if err := <-result; err == nil {
		t.Error("Originate to the silent target succeeded")
	}
	if !strings.Contains(logs.String(), "shutdown: some originated calls did not finish in time") {
		t.Errorf("no warning about the branch left ringing:\n%s", logs.String())
	}
	if n := ep.inflight.pending(); n != 0 {
		t.Errorf("%d branches still in flight after Shutdown", n)
	}
	for {
		select {
		case m, ok := <-silent.msgs:
			if !ok {
				return
			}
			if req, isReq := m.(*sip.Request); isReq && req.Method == sip.CANCEL {
				t.Fatal("CANCEL sent before any provisional response")
			}
		default:
			return
		}
	}
}

// Originate after Shutdown fails at once and sends nothing.
func TestOriginateAfterShutdownFails(t *testing.T) {
	ep, _ := newLoggedEndpoint(t)
	phone := newRawPeer(t, "127.0.0.1")
	<-shutdownInBackground(ep, time.Second)
	c, err := ep.Originate(testCtx(t), Originate{Targets: []string{"sip:bob@" + phone.addr.String()}, From: Party{URI: "sip:parkd@127.0.0.1"}})
	if c != nil || err == nil {
		t.Fatalf("Originate after Shutdown returned (%v, %v)", c, err)
	}
	phone.silent(100 * time.Millisecond)
}

// The registry refuses a branch once Shutdown has listed those in flight,
// so none can start unseen by it.
func TestInflightRefusesBranchAfterStop(t *testing.T) {
	var f inflight
	early := &branch{}
	if err := f.add(early); err != nil {
		t.Fatal(err)
	}
	if got := f.stopAll(); len(got) != 1 || got[0] != early {
		t.Fatalf("stopAll listed %v, want the branch added before", got)
	}
	if err := f.add(&branch{}); !errors.Is(err, errDraining) {
		t.Errorf("add after stopAll: %v, want the shutting-down error", err)
	}
	select {
	case <-f.stopped():
	default:
		t.Error("stopped not closed after stopAll")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if f.wait(ctx) {
		t.Error("wait returned true with a branch in flight")
	}
	f.lateBegin()
	f.remove(early)
	if f.pending() != 1 {
		t.Errorf("pending %d, want the late hang-up", f.pending())
	}
	go f.lateEnd()
	if !f.wait(context.Background()) {
		t.Error("wait gave up with nothing in flight")
	}
}

// An answer that becomes a call just as Shutdown begins is hung up before
// Shutdown returns, by hangupAll or by its branch: whatever the timing, a
// phone that answered has its BYE, and no call is left.
func TestShutdownRacingAnAnswer(t *testing.T) {
	for i := range 8 {
		ep, logs := newLoggedEndpoint(t)
		ctx := testCtx(t)
		bob := siptest.NewPhone(t, "bob")
		calls := make(chan *Call, 1)
		go func() {
			c, _ := ep.Originate(context.Background(), Originate{Targets: []string{bob.URI()}, From: Party{URI: "sip:parkd@127.0.0.1"}})
			calls <- c
		}()
		in := ringingAt(t, ctx, bob)
		answered := make(chan *siptest.Call, 1)
		go func() {
			c, _ := in.Answer(ctx)
			answered <- c
		}()
		time.Sleep(time.Duration(i) * 300 * time.Microsecond)
		<-shutdownInBackground(ep, 3*time.Second)
		if c := <-answered; c != nil {
			if _, err := c.WaitHangup(hangupCtx(t)); err != nil {
				t.Fatalf("round %d: the phone answered but got no BYE: %v; log:\n%s", i, err, logs.String())
			}
		}
		if c := <-calls; c != nil {
			select {
			case <-c.Done():
			default:
				t.Fatalf("round %d: Originate's call still up after Shutdown", i)
			}
		}
		if n := ep.Calls(); n != 0 {
			t.Fatalf("round %d: %d calls left after Shutdown", i, n)
		}
	}
}

// hangupCtx bounds the wait for a BYE the phone has already answered.
func hangupCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	t.Cleanup(cancel)
	return ctx
}
