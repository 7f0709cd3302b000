package sipcore

import (
	"runtime"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// sipgo keeps an answered INVITE's transaction for 64*T1 (RFC 6026's
// Accepted state); the Invite parkd was handed, with its offer and logger,
// must be free long before, or every call set up in the last 32 s stays
// in the heap the GC marks.
func TestAnsweredInviteIsNotKeptByItsTransaction(t *testing.T) {
	_, h, addr := newSlowEndpoint(t)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	p.invite(addr, "slow", "keep-1", "keep1")
	collected := make(chan struct{})
	runtime.AddCleanup(<-h.arrived, func(ch chan struct{}) { close(ch) }, collected)
	close(h.go_)
	if err := <-h.answers; err != nil {
		t.Fatalf("Answer: %v", err)
	}
	if res := p.final(ctx, sip.INVITE); res.StatusCode != 200 {
		t.Fatalf("INVITE answered %d, want 200", res.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		select {
		case <-collected:
			return
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the answered Invite is still reachable 5 s later")
		}
	}
}
