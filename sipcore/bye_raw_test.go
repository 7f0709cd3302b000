package sipcore

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// A BYE that ends one of parkd's calls is answered on the read loop: the
// 200 carries the dialog's tag, the call ends as the remote party's
// hang-up, and sipgo never sees the datagram. A copy of it, a BYE out of
// CSeq order and a BYE for no call go on to sipgo's path; the copy gets
// the 200 again there.
func TestAByeIsAnsweredOnTheReadLoop(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	from, ok, c := answeredCall(t, p, h, addr, "byeloop")
	sendAck(p, addr, from, ok, "byeloop")
	receive(t, c.Confirmed(), "the call confirmed by the ACK")

	props := sip.TransportReadProps{Transport: "UDP", LocalAddr: net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)),
		RemoteAddr: net.UDPAddrFromAddrPort(p.addr)}
	bye := func(callID, cseq string) []byte {
		return ackBytes("BYE sip:park@"+addr+" SIP/2.0", p.via("bye-"+callID+cseq), from, "To: "+ok.To().Value(),
			"Call-ID: "+callID, "CSeq: "+cseq+" BYE", "Content-Length: 0")
	}

	// Whoever took the ACK closed Confirmed holding the call's lock, and
	// the read loop only tries it: wait for it to be let go.
	c.mu.Lock()
	c.mu.Unlock()
	if out, _ := ep.readFilter(props, bye("byeloop", "1")); out == nil {
		t.Fatal("a BYE out of CSeq order was taken; sipgo's path answers it 500")
	}
	if c.Ended() != "" {
		t.Fatalf("a BYE out of CSeq order ended the call: %s", c.Ended())
	}
	before := ep.stats.responses[methodIndex(sip.BYE)][codeIndex(200)].Load()
	if out, _ := ep.readFilter(props, bye("byeloop", "2")); out != nil {
		t.Fatal("the BYE of a call went on to sipgo")
	}
	res := p.response(ctx, 200, sip.BYE)
	wantTag, _ := ok.To().Params.Get("tag")
	if tag, _ := res.To().Params.Get("tag"); tag != wantTag || res.CSeq().SeqNo != 2 {
		t.Errorf("200 to the BYE: To tag %q, CSeq %d; want the dialog's %q and 2", tag, res.CSeq().SeqNo, wantTag)
	}
	if got := ep.stats.responses[methodIndex(sip.BYE)][codeIndex(200)].Load() - before; got != 1 {
		t.Errorf("200s to BYE counted: %d, want 1", got)
	}
	receive(t, c.Done(), "the call's end")
	if c.Ended() != EndRemoteBye {
		t.Errorf("the call ended: %s, want %s", c.Ended(), EndRemoteBye)
	}
	waitFor(t, "the call's end reported", func() bool { return ep.ending.Load() == 0 })
	if out, _ := ep.readFilter(props, bye("byeloop", "2")); out == nil {
		t.Error("a copy of the BYE was taken; sipgo's path answers it from the ended dialogs")
	}
	p.send(addr, "", "BYE sip:park@"+addr+" SIP/2.0", p.via("bye-byeloop2"), from, "To: "+ok.To().Value(),
		"Call-ID: byeloop", "CSeq: 2 BYE") // the copy, sent: our 200 was lost
	if res := p.response(ctx, 200, sip.BYE); res.CSeq().SeqNo != 2 {
		t.Errorf("the copy answered for CSeq %d", res.CSeq().SeqNo)
	}
	if out, _ := ep.readFilter(props, bye("never-was", "2")); out == nil {
		t.Error("a BYE for no call was taken; sipgo's path answers it 481")
	}
}

// A panic in the handler's CallEnded after a BYE taken on the read loop
// is logged, as one in a request's handler is, and parkd goes on
// answering calls.
func TestAPanicEndingACallAfterItsByeIsSurvived(t *testing.T) {
	logs := &logBuffer{}
	ep, h, addr := newDoorEndpoint(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	panicky := func(*Call, EndReason) { panic("handler bug") }
	h.ended.Store(&panicky)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	from, ok, c := answeredCall(t, p, h, addr, "panicky")
	sendAck(p, addr, from, ok, "panicky")
	receive(t, c.Confirmed(), "the call confirmed by the ACK")
	c.mu.Lock() // let go by whoever took the ACK, so that the BYE is the read loop's
	c.mu.Unlock()
	p.send(addr, "", "BYE sip:park@"+addr+" SIP/2.0", p.via("bye-panicky"), from, "To: "+ok.To().Value(),
		"Call-ID: panicky", "CSeq: 2 BYE")
	p.response(ctx, 200, sip.BYE)
	waitFor(t, "the panic logged", func() bool { return strings.Contains(logs.String(), "panic while ending a call") })
	waitFor(t, "the call's end counted as reported, for shutdown", func() bool { return ep.ending.Load() == 0 })

	h.ended.Store(nil)
	answeredCall(t, p, h, addr, "after") // still answering
}
