package sipcore

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore/presence"
)

// wireSubscription is a subscription with a rendered NOTIFY head, enough
// for appendNotifyLocked.
func wireSubscription() (*Subscription, *notifyHead) {
	s := &Subscription{version: 7, expiresAt: time.Now().Add(time.Hour)}
	s.localCSeq = 41
	s.body = presence.DialogInfoBody("sip:701@10.0.0.5", []presence.Dialog{{ID: "701-a", State: "early",
		Local: &presence.Identity{Display: "Park 701", URI: "sip:701@10.0.0.5"}}})
	h := &notifyHead{
		requestLine: "NOTIFY sip:w@10.0.0.9:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;rport;branch=",
		headers: "\r\nFrom: <sip:701@10.0.0.5>;tag=a\r\nTo: <sip:w@10.0.0.9>;tag=b\r\nCall-ID: c1\r\n" +
			"Contact: <sip:parkd@10.0.0.5:5060>\r\nEvent: dialog\r\nMax-Forwards: 70\r\nContent-Type: application/dialog-info+xml\r\n",
	}
	return s, h
}

// The bytes parkd writes are a NOTIFY sipgo parses back with the branch,
// CSeq, state and body of this transaction.
func TestNotifyWireParses(t *testing.T) {
	s, h := wireSubscription()
	msg := s.appendNotifyLocked(nil, h, 0xfeed)
	m, err := sip.ParseMessage(msg)
	if err != nil {
		t.Fatalf("%v\n%s", err, msg)
	}
	req := m.(*sip.Request)
	branch, _ := req.Via().Params.Get("branch")
	id, ok := branchID(branch)
	info, err := presence.ParseDialogInfo(req.Body())
	switch {
	case !ok || id != 0xfeed:
		t.Errorf("branch %q", branch)
	case req.CSeq().SeqNo != 42 || req.CSeq().MethodName != sip.NOTIFY:
		t.Errorf("CSeq %v", req.CSeq())
	case !strings.HasPrefix(req.GetHeader("Subscription-State").Value(), "active;expires="):
		t.Errorf("Subscription-State %q", req.GetHeader("Subscription-State").Value())
	case err != nil || info.Version != 7 || len(info.Dialogs) != 1:
		t.Errorf("body: %v %+v", err, info)
	}
	if s.version != 8 || s.localCSeq != 42 {
		t.Errorf("version %d CSeq %d after one NOTIFY, want 8 and 42", s.version, s.localCSeq)
	}
}

// Writing a NOTIFY into a buffer with room allocates nothing.
func TestNotifyWireDoesNotAllocate(t *testing.T) {
	s, h := wireSubscription()
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { buf = s.appendNotifyLocked(buf[:0], h, 1) }); n != 0 {
		t.Errorf("%v allocations per NOTIFY, want 0", n)
	}
}

// BenchmarkNotifyWire: rendering one subscriber's NOTIFY (headers, CSeq,
// state, versioned body) into a reused buffer.
//
//	go test -run x -bench NotifyWire -benchmem ./sipcore/
func BenchmarkNotifyWire(b *testing.B) {
	s, h := wireSubscription()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = s.appendNotifyLocked(buf[:0], h, 1)
	}
}

// The buffer writeNotifyLocked sizes for a NOTIFY holds it without growing.
func TestNotifyWireFitsItsEstimate(t *testing.T) {
	s, h := wireSubscription()
	s.final = stateShutdown
	s.localCSeq = 1<<32 - 2
	s.version = 1<<32 - 2
	body, _ := s.body.ForDatagram()
	size := len(h.requestLine) + len(h.headers) + notifyTail + len(s.final) + body.Len(s.version)
	if msg := s.appendNotifyLocked(make([]byte, 0, size), h, 1<<64-1); cap(msg) != size {
		t.Errorf("NOTIFY of %d bytes outgrew its %d-byte buffer", len(msg), size)
	}
}
