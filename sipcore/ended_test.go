package sipcore

import (
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestEndedDialogsRememberForTheWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a, b := DialogID{CallID: "a", LocalTag: "1", RemoteTag: "2"}, DialogID{CallID: "b", LocalTag: "1", RemoteTag: "2"}
	tests := []struct {
		name  string
		adds  map[DialogID]time.Duration // after t0
		ask   DialogID
		at    time.Duration
		known bool
	}{
		{"just ended", map[DialogID]time.Duration{a: 0}, a, time.Second, true},
		{"another dialog", map[DialogID]time.Duration{a: 0}, b, time.Second, false},
		{"at the window's end", map[DialogID]time.Duration{a: 0}, a, rememberWindow(), true},
		{"past the window", map[DialogID]time.Duration{a: 0}, a, rememberWindow() + time.Millisecond, false},
		{"the later of two", map[DialogID]time.Duration{a: 0, b: 20 * time.Second}, b, rememberWindow() + time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e endedDialogs
			e.init(maxRemembered)
			for _, id := range []DialogID{a, b} { // in time order
				if d, ok := tt.adds[id]; ok {
					e.add(dialogHash(id), struct{}{}, t0.Add(d))
				}
			}
			if got := e.has(dialogHash(tt.ask), t0.Add(tt.at)); got != tt.known {
				t.Errorf("has = %v, want %v", got, tt.known)
			}
		})
	}
}

// Past maxRemembered the oldest are forgotten: memory stays bounded
// whatever the call rate.
func TestEndedDialogsAreBounded(t *testing.T) {
	var e endedDialogs
	e.init(maxRemembered)
	now := time.Unix(1000, 0)
	for i := range maxRemembered + 10 {
		e.add(dialogHash(DialogID{CallID: fmt.Sprint(i)}), struct{}{}, now)
	}
	if n := e.len(); n != maxRemembered {
		t.Fatalf("%d remembered, want %d", n, maxRemembered)
	}
	if e.has(dialogHash(DialogID{CallID: "0"}), now) || !e.has(dialogHash(DialogID{CallID: fmt.Sprint(maxRemembered + 9)}), now) {
		t.Error("not the oldest forgotten")
	}
}

// A caller whose 200 to its BYE was lost sends the BYE again: it gets
// the same 200, not 481, although parkd keeps no transaction for it; a
// BYE for a dialog that never was still gets 481.
func TestRetransmittedByeGets200Again(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	from := "From: <sip:caller@" + p.addr.String() + ">;tag=fbye"
	p.send(addr, testSDP, "INVITE sip:park@"+addr+" SIP/2.0", p.via("inv"), from, "To: <sip:park@"+addr+">",
		"Call-ID: bye-again", "CSeq: 1 INVITE", "Contact: <sip:caller@"+p.addr.String()+">", "Content-Type: application/sdp")
	ok := p.response(ctx, 200, sip.INVITE)
	p.send(addr, "", "ACK sip:parkd@"+addr+" SIP/2.0", p.via("ack"), from, "To: "+ok.To().Value(), "Call-ID: bye-again", "CSeq: 1 ACK")
	receive(t, h.calls, "the answered call")
	// The INVITE's transaction ends as its 2xx leaves, and the ACK's at
	// once, each in a goroutine of sipgo's that a loaded machine may run
	// late, even after the BYE's.
	noTx := func() bool { return ep.liveTx.Load() == 0 }
	waitFor(t, "the INVITE's and the ACK's transactions to end", noTx)

	bye := func(callID, branch string) {
		p.send(addr, "", "BYE sip:parkd@"+addr+" SIP/2.0", p.via(branch), from, "To: "+ok.To().Value(), "Call-ID: "+callID, "CSeq: 2 BYE")
	}
	bye("bye-again", "bye")
	p.response(ctx, 200, sip.BYE)
	waitFor(t, "the call to end", func() bool { return ep.Calls() == 0 })
	waitFor(t, "the BYE's transaction to end (sipgo's lingers 32 s, Timer J)", noTx)
	bye("bye-again", "bye") // the same BYE, same branch: our 200 was lost
	if res := p.response(ctx, 200, sip.BYE); res.CSeq().SeqNo != 2 {
		t.Errorf("answered CSeq %d", res.CSeq().SeqNo)
	}
	bye("never-was", "bye2")
	p.response(ctx, 481, sip.BYE)
}
