package sipcore

import (
	"context"
	"testing"
)

// A re-park hangs up the referrer after the final NOTIFY: its BYE follows
// the NOTIFYs in the dialog's CSeq order.
func TestReferFinishThenHangupShareCSeq(t *testing.T) {
	ctx := testCtx(t)
	h := newReferHandler()
	h.script = func(ctx context.Context, r *Refer) {
		r.Accept()
		if err := r.Finish(ctx, 200, "OK"); err != nil {
			t.Errorf("Finish: %v", err)
		}
		r.Call.Hangup(ctx, "transferred")
	}
	ep := newReferEndpoint(t, h)
	call, _ := referCall(t, ctx, ep, h, "udp")
	if res, err := call.Refer(ctx, "<sip:700@127.0.0.1>"); err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER: %v %v", res, err)
	}
	first := nextReferNotify(t, ctx, call)
	final := nextReferNotify(t, ctx, call)
	bye, err := call.WaitHangup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := first.Request.CSeq().SeqNo, final.Request.CSeq().SeqNo, bye.CSeq().SeqNo
	if !(a < b && b < c) {
		t.Errorf("CSeqs NOTIFY %d, NOTIFY %d, BYE %d: not one increasing sequence", a, b, c)
	}
}

func TestReferFinishAfterReferrerHungUp(t *testing.T) {
	ctx := testCtx(t)
	h := newReferHandler()
	hungUp := make(chan struct{})
	finished := make(chan error, 1)
	h.script = func(ctx context.Context, r *Refer) {
		r.Accept()
		<-hungUp
		finished <- r.Finish(ctx, 200, "OK")
	}
	ep := newReferEndpoint(t, h)
	call, c := referCall(t, ctx, ep, h, "udp")
	if res, err := call.Refer(ctx, "<sip:701@127.0.0.1>"); err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER: %v %v", res, err)
	}
	nextReferNotify(t, ctx, call)
	call.Hangup(ctx)
	receive(t, c.Done(), "the call to end")
	close(hungUp)
	select {
	case err := <-finished:
		if err == nil {
			t.Error("Finish after the referrer hung up returned no error")
		}
	case <-ctx.Done():
		t.Fatal("Finish never returned")
	}
}

// Finish and Hangup at once, as a re-park that gives up on the referrer
// might: neither blocks the other, the phone gets its BYE.
func TestReferFinishRacesHangup(t *testing.T) {
	ctx := testCtx(t)
	h := newReferHandler()
	finished := make(chan error, 1)
	h.script = func(ctx context.Context, r *Refer) {
		r.Accept()
		go r.Call.Hangup(ctx, "transferred")
		finished <- r.Finish(ctx, 200, "OK")
	}
	ep := newReferEndpoint(t, h)
	call, c := referCall(t, ctx, ep, h, "udp")
	if res, err := call.Refer(ctx, "<sip:700@127.0.0.1>"); err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER: %v %v", res, err)
	}
	if _, err := call.WaitHangup(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-finished: // nil or an error: either is fine, it must return
	case <-ctx.Done():
		t.Fatal("Finish never returned")
	}
	receive(t, c.Done(), "the call to end")
}
