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
	c := <-h.calls
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
