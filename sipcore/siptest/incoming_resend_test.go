package siptest_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parkd/parkd/sipcore/siptest"
)

// A phone that answered resends its 200 until the ACK, also once its
// INVITE transaction is gone: with Timer L at zero, as parkd sets it in
// the process its tests share with their phones.
func TestAnswerResends200WithoutItsTransaction(t *testing.T) {
	oldL := sip.Timer_L
	sip.Timer_L = 0
	t.Cleanup(func() { sip.Timer_L = oldL })
	ctx := timeout(t)
	callee := siptest.NewPhone(t, "bob")
	raw, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	dst := strings.TrimPrefix(callee.URI(), "sip:bob@")
	me := raw.LocalAddr().String()
	invite := strings.Join([]string{"INVITE " + callee.URI() + " SIP/2.0", "Via: SIP/2.0/UDP " + me + ";branch=z9hG4bKresend",
		"From: <sip:raw@" + me + ">;tag=raw", "To: <" + callee.URI() + ">", "Call-ID: resend-200", "CSeq: 1 INVITE",
		"Contact: <sip:raw@" + me + ">", "Content-Length: 0", "", ""}, "\r\n")
	to, err := net.ResolveUDPAddr("udp", dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.WriteTo([]byte(invite), to); err != nil {
		t.Fatal(err)
	}
	in := incoming(t, ctx, callee)
	go in.Answer(ctx) // never ACKed: returns when ctx ends
	oks := 0
	buf := make([]byte, 65535)
	raw.SetReadDeadline(time.Now().Add(1200 * time.Millisecond)) // the first resend is due after T1
	for {
		n, _, err := raw.ReadFrom(buf)
		if err != nil {
			break
		}
		if strings.HasPrefix(string(buf[:n]), "SIP/2.0 200 ") {
			oks++
		}
	}
	if oks < 2 {
		t.Errorf("%d 200s in 1.2 s without an ACK, want the first and a resend", oks)
	}
}
