package sipcore

import (
	"bytes"
	"strings"
	"testing"

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

func TestParseRawRequest(t *testing.T) {
	want := dialogRequest{dialog: DialogID{CallID: "abc@127.0.0.1", LocalTag: "parkd", RemoteTag: "caller"}, cseq: 7}
	tests := []struct {
		name   string
		data   []byte
		ok     bool
		method sip.RequestMethod // ACK unless set
	}{
		{"plain", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, ackCSeqLine, "Max-Forwards: 70", "Content-Length: 0"), true, ""},
		{"compact", ackBytes(ackStart, "v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKack1",
			"f: <sip:alice@127.0.0.1:5070>;tag=caller", "t: <sip:park@127.0.0.1:5060>;tag=parkd", "i: abc@127.0.0.1", ackCSeqLine, "l: 0"), true, ""},
		{"bare URIs and other parameters", ackBytes(ackStart, ackVia, "From: sip:alice@127.0.0.1;x=1;tag=caller;lr",
			"TO:   <sip:park@127.0.0.1:5060;tag=uri>;tag=parkd  ", ackCID, ackCSeqLine), true, ""},
		{"a quoted name with an escape", ackBytes(ackStart, ackVia, "From: \"A\\\"x\" <sip:alice@127.0.0.1>;tag=caller", ackTo, ackCID, ackCSeqLine), false, ""},
		{"a quoted name with a bracket", ackBytes(ackStart, ackVia, "From: \"A <x>\" <sip:alice@127.0.0.1>;tag=caller", ackTo, ackCID, ackCSeqLine), false, ""},
		{"a quoted name close up", ackBytes(ackStart, ackVia, "From: \"Alice\"<sip:alice@127.0.0.1>;tag=caller", ackTo, ackCID, ackCSeqLine), true, ""},
		{"a body", append(ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, ackCSeqLine, "Content-Length: 4"), "v=0\n"...), false, ""},
		{"a length but no body", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, ackCSeqLine, "Content-Length: 4"), false, ""},
		{"no end of headers", []byte(strings.Join([]string{ackStart, ackVia, ackFrom, ackTo, ackCID, ackCSeqLine}, "\r\n")), false, ""},
		{"not an ACK", ackBytes("BYE sip:park@127.0.0.1:5060 SIP/2.0", ackVia, ackFrom, ackTo, ackCID, "CSeq: 7 BYE"), false, ""},
		{"a BYE read as one", ackBytes("BYE sip:park@127.0.0.1:5060 SIP/2.0", ackVia, ackFrom, ackTo, ackCID, "CSeq: 7 BYE"), true, sip.BYE},
		{"a BYE's CSeq for an ACK", ackBytes("BYE sip:park@127.0.0.1:5060 SIP/2.0", ackVia, ackFrom, ackTo, ackCID, ackCSeqLine), false, sip.BYE},
		{"no URI", ackBytes("ACK SIP/2.0", ackVia, ackFrom, ackTo, ackCID, ackCSeqLine), false, ""},
		{"a URI of two words", ackBytes("ACK a b SIP/2.0", ackVia, ackFrom, ackTo, ackCID, ackCSeqLine), false, ""},
		{"CSeq of another method", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, "CSeq: 7 INVITE"), false, ""},
		{"CSeq past 2^31-1", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, "CSeq: 2147483648 ACK"), false, ""},
		{"CSeq not a number", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, "CSeq: 7a ACK"), false, ""},
		{"another version", ackBytes("ACK sip:park@127.0.0.1:5060 sip/2.0", ackVia, ackFrom, ackTo, ackCID, ackCSeqLine), false, ""},
		{"no Via", ackBytes(ackStart, ackFrom, ackTo, ackCID, ackCSeqLine), false, ""},
		{"two Call-IDs", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, "i: other", ackCSeqLine), false, ""},
		{"two To lines", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackTo, ackCID, ackCSeqLine), false, ""},
		{"a folded line", ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, ackCSeqLine, "Subject: a", " b"), false, ""},
		{"no To tag", ackBytes(ackStart, ackVia, ackFrom, "To: <sip:park@127.0.0.1:5060>", ackCID, ackCSeqLine), false, ""},
		{"the tag inside the URI only", ackBytes(ackStart, ackVia, ackFrom, "To: <sip:park@127.0.0.1;tag=parkd>", ackCID, ackCSeqLine), false, ""},
		{"two tags", ackBytes(ackStart, ackVia, ackFrom, ackTo+";tag=again", ackCID, ackCSeqLine), false, ""},
		{"a tag in capitals", ackBytes(ackStart, ackVia, ackFrom, "To: <sip:park@127.0.0.1>;TAG=parkd", ackCID, ackCSeqLine), false, ""},
		{"a quoted tag", ackBytes(ackStart, ackVia, ackFrom, "To: <sip:park@127.0.0.1>;tag=\"parkd\"", ackCID, ackCSeqLine), false, ""},
		{"a space before the tag", ackBytes(ackStart, ackVia, ackFrom, "To: <sip:park@127.0.0.1>; tag=parkd", ackCID, ackCSeqLine), false, ""},
		{"two addresses", ackBytes(ackStart, ackVia, ackFrom, "To: <sip:a@b>;tag=x, <sip:c@d>;tag=parkd", ackCID, ackCSeqLine), false, ""},
		{"a parameter before the URI", ackBytes(ackStart, ackVia, ackFrom, "To: a;b <sip:park@127.0.0.1>;tag=parkd", ackCID, ackCSeqLine), false, ""},
		{"a Call-ID with a space", ackBytes(ackStart, ackVia, ackFrom, ackTo, "Call-ID: abc def", ackCSeqLine), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.method
			if m == "" {
				m = sip.ACK
			}
			got, ok := parseRawRequest(tt.data, m)
			if ok != tt.ok {
				t.Fatalf("parseRawRequest ok = %v, want %v", ok, tt.ok)
			}
			if ok && got != want {
				t.Errorf("parseRawRequest = %+v, want %+v", got, want)
			}
		})
	}
}

// FuzzRawRequest holds the read loop's reading of an ACK or a BYE to
// sipgo's: whatever it reads, sipgo (when it parses the message at all)
// reads as a request of that method in the same dialog with the same
// CSeq number and no body, so the read loop confirms or ends no call
// that sipgo's path would leave alone.
func FuzzRawRequest(f *testing.F) {
	f.Add(ackBytes(ackStart, ackVia, ackFrom, ackTo, ackCID, ackCSeqLine, "Content-Length: 0"))
	f.Add(ackBytes(ackStart, "v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKack1",
		"f: <sip:alice@127.0.0.1:5070>;tag=caller", "t: sip:park@127.0.0.1:5060;tag=parkd", "i: abc@127.0.0.1", ackCSeqLine, "l: 0"))
	f.Add(ackBytes(ackStart, ackVia, "From: sip:alice@127.0.0.1;x=1;tag=caller;lr", "To: <sip:park@127.0.0.1:5060;tag=uri>;tag=parkd", ackCID, ackCSeqLine))
	f.Add(ackBytes("BYE sip:park@127.0.0.1:5060 SIP/2.0", ackVia, ackFrom, ackTo, ackCID, "CSeq: 8 BYE"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := sip.ACK
		if bytes.HasPrefix(data, []byte("BYE")) {
			m = sip.BYE
		}
		got, ok := parseRawRequest(data, m)
		if !ok {
			return
		}
		msg, err := sip.ParseMessage(append([]byte(nil), data...))
		if err != nil {
			return // sipgo drops it; raw_dialog.go says why the read loop may still act on it
		}
		req, isReq := msg.(*sip.Request)
		if !isReq || req.Method != m {
			t.Fatalf("read as a %s, sipgo reads a %T", m, msg)
		}
		id, ok := requestDialogID(req)
		if !ok || id != got.dialog {
			t.Fatalf("dialog %+v, sipgo reads %+v (%v)", got.dialog, id, ok)
		}
		if req.CSeq() == nil || req.CSeq().SeqNo != got.cseq || req.CSeq().MethodName != m {
			t.Fatalf("CSeq %d, sipgo reads %v", got.cseq, req.CSeq())
		}
		if len(req.Body()) > 0 {
			t.Fatalf("read without a body, sipgo reads one of %d bytes", len(req.Body()))
		}
	})
}
