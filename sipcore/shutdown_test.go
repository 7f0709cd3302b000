package sipcore

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A call whose BYE is still unanswered when the shutdown's grace runs out
// is reported ended before Shutdown returns: the daemon closes its store
// right after, and a call it never heard end would lose its history row.
func TestShutdownReportsCallsStillHangingUp(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	phone := newRawPeer(t, "127.0.0.1") // answers nothing, BYEs included
	from := "From: <sip:raw@127.0.0.1>;tag=sd"
	phone.send(addr, testSDP, "INVITE sip:park@"+addr+" SIP/2.0", phone.via("inv"), from, "To: <sip:park@"+addr+">",
		"Call-ID: shutdown-bye", "CSeq: 1 INVITE", "Contact: <sip:raw@"+phone.addr.String()+">", "Content-Type: application/sdp")
	ok := phone.response(ctx, 200, sip.INVITE)
	phone.send(addr, "", "ACK sip:parkd@"+addr+" SIP/2.0", phone.via("ack"), from, "To: "+ok.To().Value(),
		"Call-ID: shutdown-bye", "CSeq: 1 ACK")
	c := receive(t, h.calls, "the answered call")
	go c.Hangup(context.Background(), "test") // its BYE is never answered
	waitFor(t, "the call to start hanging up", func() bool { return ep.dialogs.len() == 0 })

	grace, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	ep.Shutdown(grace)
	select {
	case <-c.released:
	default:
		t.Fatal("Shutdown returned before the call hanging up was reported ended")
	}
}

// NOTIFYs still unanswered when Shutdown's time runs out are dropped
// with the listeners, and the timer wheel stops with them, instead of
// resending to a closed socket and reporting each watcher gone when its
// Timer F (32 s; 2 s here) runs out, long after the daemon stopped.
func TestShutdownDropsUnansweredNotifies(t *testing.T) {
	ep, _, _, _ := subscribedWithFastTimerE(t) // the watcher answers nothing
	grace, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	ep.Shutdown(grace)
	ep.notifier.mu.Lock()
	inFlight := len(ep.notifier.byID)
	ep.notifier.mu.Unlock()
	if inFlight != 0 {
		t.Errorf("%d NOTIFYs still in flight after Shutdown", inFlight)
	}
	// No timer may be left, nor re-armed by one firing as Shutdown ended:
	// with none, the wheel's goroutine ends at its next tick, however late
	// a loaded machine runs it.
	wheel := &ep.notifier.wheel
	time.Sleep(3 * wheelTick)
	wheel.mu.Lock()
	pending := wheel.pending
	wheel.mu.Unlock()
	if pending != 0 {
		t.Fatalf("the NOTIFY timer wheel still has %d timers %v after Shutdown", pending, 3*wheelTick)
	}
	waitFor(t, "the NOTIFY timer wheel to stop", func() bool {
		wheel.mu.Lock()
		defer wheel.mu.Unlock()
		return !wheel.running
	})
}
