package sipcore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A 200 that answers nothing parkd sent makes parkd send nothing, to
// anyone, and look up nothing; parkd keeps working.
func TestStray200IsDropped(t *testing.T) {
	names, refused := recordLookups(t)
	ep, _, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	stranger := newRawPeer(t, "127.0.0.2")
	third := newRawPeer(t, "127.0.0.3")
	strays := []struct{ contact, recordRoute string }{
		{"sip:victim@" + third.addr.String(), ""},
		{"sip:victim@victim.invalid:5060", ""},
		{"sip:victim@victim.invalid", "Record-Route: <sip:rr.invalid;lr>"},
	}
	for i, s := range strays {
		lines := []string{"SIP/2.0 200 OK", stranger.via(fmt.Sprint("stray", i)),
			"From: <sip:parkd@127.0.0.1>;tag=notours", fmt.Sprintf("To: <sip:victim@victim.invalid>;tag=t%d", i),
			fmt.Sprintf("Call-ID: stray-%d", i), "CSeq: 1 INVITE", "Contact: <" + s.contact + ">", "Content-Type: application/sdp"}
		if s.recordRoute != "" {
			lines = append(lines, s.recordRoute)
		}
		stranger.send(addr, testSDP, lines...)
	}
	third.silent(300 * time.Millisecond)
	stranger.silent(0)
	waitFor(t, "the strays to be counted", func() bool { return ep.Stats().StrayResponses == uint64(len(strays)) })
	if n := names(); len(n) > 0 || refused() > 0 {
		t.Errorf("strays made parkd resolve %v (%d refused lookups)", n, refused())
	}

	stranger.send(addr, "", "OPTIONS sip:parkd@"+addr+" SIP/2.0", stranger.via("alive"),
		"From: <sip:s@127.0.0.2>;tag=s", "To: <sip:parkd@127.0.0.1>", "Call-ID: alive", "CSeq: 1 OPTIONS")
	stranger.response(ctx, 200, sip.OPTIONS)
}

// A fork of a recall INVITE that answers after its transaction is gone is
// still ACKed and hung up, at the address the INVITE went to even when its
// Contact is a name; the same 200 from anywhere else is dropped.
func TestLate200OfRecallIsHungUp(t *testing.T) {
	names, refused := recordLookups(t)
	ep, _, _ := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	phone := newRawPeer(t, "127.0.0.1")
	spoofer := newRawPeer(t, "127.0.0.2")
	ringCtx, stopRinging := context.WithCancel(ctx)
	defer stopRinging()
	go ep.Originate(ringCtx, Originate{Targets: []string{"sip:bob@" + phone.addr.String()}, From: Party{URI: "sip:parkd@127.0.0.1"}})

	inv, ok := phone.next(ctx).(*sip.Request)
	if !ok || inv.Method != sip.INVITE {
		t.Fatalf("phone got %v, want the INVITE", inv)
	}
	to := inv.To().Value() + ";tag=fork2"
	late := func(p *rawPeer) {
		// Another fork's 200: its Via branch matches no transaction.
		p.send(inv.Source(), testSDP, "SIP/2.0 200 OK", "Via: SIP/2.0/UDP "+inv.Via().Host+fmt.Sprintf(":%d", inv.Via().Port)+";branch=z9hG4bKfork2",
			"From: "+inv.From().Value(), "To: "+to, "Call-ID: "+callID(inv), fmt.Sprintf("CSeq: %d INVITE", inv.CSeq().SeqNo),
			"Contact: <sip:bob@bob.invalid:5060>", "Content-Type: application/sdp")
	}
	late(spoofer)
	waitFor(t, "the spoofed 200 to be dropped", func() bool { return ep.Stats().StrayResponses == 1 })
	late(phone)
	var gotAck bool
	for {
		req, ok := phone.next(ctx).(*sip.Request)
		if !ok {
			continue
		}
		if req.Method == sip.ACK && callID(req) == callID(inv) {
			gotAck = true
		}
		if req.Method == sip.BYE {
			if !gotAck {
				t.Error("BYE before the ACK")
			}
			if tag, _ := req.To().Params.Get("tag"); tag != "fork2" {
				t.Errorf("BYE to tag %q, want fork2", tag)
			}
			phone.send(inv.Source(), "", "SIP/2.0 200 OK", "Via: "+req.Via().Value(), "From: "+req.From().Value(),
				"To: "+req.To().Value(), "Call-ID: "+callID(req), fmt.Sprintf("CSeq: %d BYE", req.CSeq().SeqNo))
			break
		}
	}
	spoofer.silent(100 * time.Millisecond)
	if n := names(); len(n) > 0 || refused() > 0 {
		t.Errorf("parkd resolved %v (%d refused lookups)", n, refused())
	}
}

// A call whose Contact and Record-Route are names: parkd's BYE goes where
// the call came from, and nothing is looked up.
func TestInDialogRequestToANameGoesToTheSource(t *testing.T) {
	names, refused := recordLookups(t)
	_, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	phone := newRawPeer(t, "127.0.0.1")
	from := "From: <sip:raw@phone.invalid>;tag=raw"
	phone.send(addr, testSDP, "INVITE sip:park@"+addr+" SIP/2.0", phone.via("inv"), from, "To: <sip:park@"+addr+">",
		"Call-ID: named", "CSeq: 1 INVITE", "Contact: <sip:raw@phone.invalid:5099>",
		"Record-Route: <sip:proxy.invalid;lr>", "Content-Type: application/sdp")
	ok := phone.response(ctx, 200, sip.INVITE)
	phone.send(addr, "", "ACK sip:parkd@"+addr+" SIP/2.0", phone.via("ack"), from, "To: "+ok.To().Value(), "Call-ID: named", "CSeq: 1 ACK")
	c := receive(t, h.calls, "the answered call")
	hungUp := make(chan struct{})
	go func() { defer close(hungUp); c.Hangup(ctx, "test") }()
	for {
		req, isReq := phone.next(ctx).(*sip.Request)
		if !isReq || req.Method != sip.BYE {
			continue
		}
		if req.Recipient.Host != "phone.invalid" {
			t.Errorf("BYE Request-URI %s, want the Contact", req.Recipient.String())
		}
		phone.send(addr, "", "SIP/2.0 200 OK", "Via: "+req.Via().Value(), "From: "+req.From().Value(),
			"To: "+req.To().Value(), "Call-ID: named", fmt.Sprintf("CSeq: %d BYE", req.CSeq().SeqNo))
		break
	}
	receive(t, hungUp, "the hang-up to finish")
	if n := names(); len(n) > 0 || refused() > 0 {
		t.Errorf("parkd resolved %v (%d refused lookups)", n, refused())
	}
}

// A CANCEL from outside sip.allow, even one that copies the INVITE's Via,
// is refused and cancels nothing.
func TestCancelFromOutsideAllow(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	phone := newRawPeer(t, "127.0.0.1")
	outsider := newRawPeer(t, "127.0.0.9")
	via := phone.via("held") + ";rport"
	lines := func(method string) []string {
		return []string{method + " sip:hold@" + addr + " SIP/2.0", via, "From: <sip:raw@127.0.0.1>;tag=raw",
			"To: <sip:hold@" + addr + ">", "Call-ID: held", "CSeq: 1 " + method}
	}
	phone.send(addr, testSDP, append(lines("INVITE"), "Contact: <sip:raw@"+phone.addr.String()+">", "Content-Type: application/sdp")...)
	phone.response(ctx, 180, sip.INVITE)
	receive(t, h.ringing, "the INVITE ringing")
	outsider.send(addr, "", lines("CANCEL")...)
	if res := outsider.response(ctx, 403, sip.CANCEL); res.GetHeader("Warning") == nil {
		t.Error("403 without a Warning")
	}
	close(h.release)
	phone.response(ctx, 200, sip.INVITE)
	phone.silent(100 * time.Millisecond) // no 200 for a CANCEL, no 487
	if c := ep.Calls(); c != 1 {
		t.Errorf("%d calls up, want 1", c)
	}
}

// The refusing resolver really sees a lookup: the tests above prove
// nothing unless it would have counted one.
func TestRefusingResolverCounts(t *testing.T) {
	before := refusedLookups.Load()
	if _, err := refusingResolver().LookupIPAddr(context.Background(), "phone.invalid"); err == nil {
		t.Fatal("the refusing resolver resolved")
	}
	if refusedLookups.Load() == before {
		t.Fatal("a lookup was not counted")
	}
}
