package sipcore

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// ackBytes is an ACK datagram from lines (start line and headers), ended
// as the wire has it.
func ackBytes(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n") }

const (
	ackStart    = "ACK sip:park@127.0.0.1:5060 SIP/2.0"
	ackVia      = "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKack1"
	ackFrom     = "From: \"Alice\" <sip:alice@127.0.0.1:5070>;tag=caller"
	ackTo       = "To: <sip:park@127.0.0.1:5060>;tag=parkd"
	ackCID      = "Call-ID: abc@127.0.0.1"
	ackCSeqLine = "CSeq: 7 ACK"
)

func TestParseRawAck(t *testing.T) {
	want := rawAck{dialog: DialogID{CallID: "abc@127.0.0.1", LocalTag: "parkd", RemoteTag: "caller"}, cseq: 7}
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"plain", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, ackCSeqLine, "Max-Forwards: 70", "Content-Length: 0"), true},
		{"compact", ackBytes(ackStart, "v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKack1",
			"f: <sip:alice@127.0.0.1:5070>;tag=caller", "t: <sip:park@127.0.0.1:5060>;tag=parkd", "i: abc@127.0.0.1", ackCSeqLine, "l: 0"), true},
		{"bare URIs and other parameters", ackBytes(ackStart, ackVia, "From: sip:alice@127.0.0.1;x=1;tag=caller;lr",
			"TO:   <sip:park@127.0.0.1:5060;tag=uri>;tag=parkd  ", ackCID, ackCSeqLine), true},
		{"a quoted name with an escape", ackBytes(ackStart, ackVia, "From: \"A\\\"x\" <sip:alice@127.0.0.1>;tag=caller", ackTo, ackCID, ackCSeqLine), false},
		{"a quoted name with a bracket", ackBytes(ackStart, ackVia, "From: \"A <x>\" <sip:alice@127.0.0.1>;tag=caller", ackTo, ackCID, ackCSeqLine), false},
		{"a quoted name close up", ackBytes(ackStart, ackVia, "From: \"Alice\"<sip:alice@127.0.0.1>;tag=caller", ackTo, ackCID, ackCSeqLine), true},
		{"a body", append(ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, ackCSeqLine, "Content-Length: 4"), "v=0\n"...), false},
		{"a length but no body", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, ackCSeqLine, "Content-Length: 4"), false},
		{"no end of headers", []byte(strings.Join([]string{ackStart, ackVia, ackFrom, ackTo, ackCID, ackCSeqLine}, "\r\n")), false},
		{"not an ACK", ackBytes("BYE sip:park@127.0.0.1:5060 SIP/2.0", ackVia, ackFrom, ackTo, ackCID, "CSeq: 7 BYE"), false},
		{"CSeq of another method", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, "CSeq: 7 INVITE"), false},
		{"CSeq past 2^31-1", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, "CSeq: 2147483648 ACK"), false},
		{"CSeq not a number", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, "CSeq: 7a ACK"), false},
		{"another version", ackBytes("ACK sip:park@127.0.0.1:5060 sip/2.0", ackVia, ackFrom, ackTo, ackCID, ackCSeqLine), false},
		{"no Via", ackBytes(ackStart, ackFrom, ackTo, ackCID, ackCSeqLine), false},
		{"two Call-IDs", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, "i: other", ackCSeqLine), false},
		{"two To lines", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackTo, ackCID, ackCSeqLine), false},
		{"a folded line", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, ackCSeqLine, "Subject: a", " b"), false},
		{"no To tag", ackBytes(ackStart, ackVia, ackFrom, "To: <sip:park@127.0.0.1:5060>", ackCID, ackCSeqLine), false},
		{"the tag inside the URI only", ackBytes(ackStart, ackVia, ackFrom, "To: <sip:park@127.0.0.1;tag=parkd>", ackCID, ackCSeqLine), false},
		{"two tags", ackBytes(ackStart, ackVia, ackFrom, ackTo+";tag=again", ackCID, ackCSeqLine), false},
		{"a tag in capitals", ackBytes(ackStart, ackVia, ackFrom, "To: <sip:park@127.0.0.1>;TAG=parkd", ackCID, ackCSeqLine), false},
		{"a quoted tag", ackBytes(ackStart, ackVia, ackFrom, "To: <sip:park@127.0.0.1>;tag=\"parkd\"", ackCID, ackCSeqLine), false},
		{"a space before the tag", ackBytes(ackStart, ackVia, ackFrom, "To: <sip:park@127.0.0.1>; tag=parkd", ackCID, ackCSeqLine), false},
		{"two addresses", ackBytes(ackStart, ackVia, ackFrom, "To: <sip:a@b>;tag=x, <sip:c@d>;tag=parkd", ackCID, ackCSeqLine), false},
		{"a parameter before the URI", ackBytes(ackStart, ackVia, ackFrom, "To: a;b <sip:park@127.0.0.1>;tag=parkd", ackCID, ackCSeqLine), false},
		{"a Call-ID with a space", ackBytes(ackStart, ackVia, ackFrom, ackTo, "Call-ID: abc def", ackCSeqLine), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseRawAck(tt.data)
			if ok != tt.ok {
				t.Fatalf("parseRawAck ok = %v, want %v", ok, tt.ok)
			}
			if ok && got != want {
				t.Errorf("parseRawAck = %+v, want %+v", got, want)
			}
		})
	}
}

// FuzzRawAck holds the read loop's reading of an ACK to sipgo's: whatever
// it takes, sipgo reads as an ACK of the same dialog and CSeq number, so
// the fast path acknowledges nothing the slow one would not.
func FuzzRawAck(f *testing.F) {
	f.Add(ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, ackCSeqLine, "Content-Length: 0"))
	f.Add(ackBytes(ackStart, "v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKack1",
		"f: <sip:alice@127.0.0.1:5070>;tag=caller", "t: sip:park@127.0.0.1:5060;tag=parkd", "i: abc@127.0.0.1", ackCSeqLine, "l: 0"))
	f.Add(ackBytes(ackStart, ackVia, "From: sip:alice@127.0.0.1;x=1;tag=caller;lr", "To: <sip:park@127.0.0.1:5060;tag=uri>;tag=parkd", ackCID, ackCSeqLine))
	f.Fuzz(func(t *testing.T, data []byte) {
		ack, ok := parseRawAck(data)
		if !ok {
			return
		}
		msg, err := sip.ParseMessage(append([]byte(nil), data...))
		if err != nil {
			return // stricter than the fast path; either way only that dialog is touched
		}
		req, isReq := msg.(*sip.Request)
		if !isReq || req.Method != sip.ACK {
			t.Fatalf("taken as an ACK, sipgo reads a %T", msg)
		}
		id, ok := requestDialogID(req)
		if !ok || id != ack.dialog {
			t.Fatalf("dialog %+v, sipgo reads %+v (%v)", ack.dialog, id, ok)
		}
		if req.CSeq() == nil || req.CSeq().SeqNo != ack.cseq || req.CSeq().MethodName != sip.ACK {
			t.Fatalf("CSeq %d, sipgo reads %v", ack.cseq, req.CSeq())
		}
		if len(req.Body()) > 0 {
			t.Fatalf("taken without a body, sipgo reads one of %d bytes", len(req.Body()))
		}
	})
}

// The ACK of parkd's 200 is taken on the read loop: the call is confirmed
// and sipgo never sees the datagram. A copy of it, or an ACK no 200
// waits for, goes on to sipgo as before.
func TestAnAckIsTakenOnTheReadLoop(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	sendInvite(p, addr, "readloop")
	ok := p.response(ctx, 200, sip.INVITE)
	c := receive(t, h.calls, "the answered call")

	props := sip.TransportReadProps{Transport: "UDP", LocalAddr: net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)),
		RemoteAddr: net.UDPAddrFromAddrPort(p.addr)}
	ack := func(cseq string) []byte {
		return ackBytes("ACK sip:park@"+addr+" SIP/2.0", p.via("ack-readloop"),
			"f: <sip:caller@"+p.addr.String()+">;tag=readloop", "t: "+ok.To().Value(), "i: readloop", "CSeq: "+cseq+" ACK")
	}
	acks := func() uint64 { return ep.stats.requests[methodIndex(sip.ACK)].Load() }

	before := acks()
	if out, _ := ep.readFilter(props, ack("1")); out != nil {
		t.Fatal("the ACK of the waiting 200 went on to sipgo")
	}
	receive(t, c.Confirmed(), "the call confirmed by the ACK")
	if got := acks() - before; got != 1 {
		t.Errorf("ACKs counted: %d, want 1", got)
	}
	if out, _ := ep.readFilter(props, ack("1")); out == nil {
		t.Error("a copy of the ACK was dropped; sipgo's rules apply to it")
	}
	if out, _ := ep.readFilter(props, ack("2")); out == nil {
		t.Error("an ACK no 200 waits for was dropped; it may be an error response's")
	}
	p.silent(sip.T1 + 200*time.Millisecond) // the 200 was not resent
}

// A late offer's answer comes in the ACK: that ACK goes to sipgo and the
// answer is applied, the music going where it says.
func TestALateOffersAnswerInTheAckIsApplied(t *testing.T) {
	_, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	from := "From: <sip:caller@" + p.addr.String() + ">;tag=late"
	p.send(addr, "", "INVITE sip:park@"+addr+" SIP/2.0", p.via("inv-late"), from, "To: <sip:park@"+addr+">",
		"Call-ID: late", "CSeq: 1 INVITE", "Contact: <sip:caller@"+p.addr.String()+">")
	ok := p.response(ctx, 200, sip.INVITE)
	c := receive(t, h.calls, "the answered call")
	answer := strings.Replace(testSDP, "m=audio 9 ", "m=audio 40010 ", 1)
	p.send(addr, answer, "ACK sip:park@"+addr+" SIP/2.0", p.via("ack-late"), from, "To: "+ok.To().Value(),
		"Call-ID: late", "CSeq: 1 ACK", "Content-Type: application/sdp")
	receive(t, c.Confirmed(), "the call confirmed by the ACK")
	want := netip.MustParseAddrPort("127.0.0.1:40010")
	deadline := time.Now().Add(2 * time.Second)
	for c.Media().Remote() != want {
		if time.Now().After(deadline) {
			t.Fatalf("media remote %v after the ACK's answer, want %v", c.Media().Remote(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
