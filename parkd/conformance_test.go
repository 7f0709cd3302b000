package parkd_test

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/parkd"
)

// rawPhone writes SIP by hand over UDP, for requests a real phone's
// stack would never send.
type rawPhone struct {
	t    *testing.T
	conn *net.UDPConn
	to   *net.UDPAddr
}

func newRawPhone(t *testing.T, to string) *rawPhone {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawPhone{t: t, conn: conn, to: net.UDPAddrFromAddrPort(netip.MustParseAddrPort(to))}
}

// send writes a request to ext; toTag "" is a request outside a dialog.
func (p *rawPhone) send(method, ext, callID, branch string, cseq int, toTag string) {
	p.t.Helper()
	local := p.conn.LocalAddr().String()
	to := fmt.Sprintf("<sip:%s@%s>", ext, p.to)
	if toTag != "" {
		to += ";tag=" + toTag
	}
	msg := fmt.Sprintf("%s sip:%s@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\n"+
		"From: <sip:raw@%s>;tag=rawtag\r\n"+
		"To: %s\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: %d %s\r\n"+
		"Max-Forwards: 70\r\n"+
		"Contact: <sip:raw@%s>\r\n"+
		"Content-Length: 0\r\n\r\n",
		method, ext, p.to, local, branch, local, to, callID, cseq, method, local)
	if _, err := p.conn.WriteToUDP([]byte(msg), p.to); err != nil {
		p.t.Fatal(err)
	}
}

// final waits for the final response to the request with branch.
func (p *rawPhone) final(branch string) *sip.Response {
	p.t.Helper()
	buf := make([]byte, 65535)
	p.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		n, err := p.conn.Read(buf)
		if err != nil {
			p.t.Fatalf("no final response for branch %s: %v", branch, err)
		}
		msg, err := sip.NewParser().ParseSIP(buf[:n])
		if err != nil {
			continue
		}
		if res, ok := msg.(*sip.Response); ok && res.StatusCode >= 200 {
			if res.Via() == nil {
				continue // sipgo's stateless 400 to a request with no Via
			}
			if b, _ := res.Via().Params.Get("branch"); b == "z9hG4bK"+branch {
				return res
			}
		}
	}
}

// A park INVITE that reaches parkd twice by two paths (a forking proxy's
// copies: same Call-ID, From tag and CSeq, another branch) parks one call:
// the copy gets 482 and the next slot stays free.
func TestMergedParkInviteParksOnce(t *testing.T) {
	d := startDaemon(t, nil)
	p := newRawPhone(t, d.udp)
	p.send("INVITE", "700", "merged-park", "path1", 1, "")
	ok := p.final("path1")
	if ok.StatusCode != 200 {
		t.Fatalf("park INVITE: got %d, want 200", ok.StatusCode)
	}
	d.waitEvent(parkd.EventParked, "701")
	p.send("INVITE", "700", "merged-park", "path2", 1, "")
	if res := p.final("path2"); res.StatusCode != 482 {
		t.Fatalf("the copy by another path: got %d, want 482 Loop Detected", res.StatusCode)
	}
	if v := d.slot("702"); v.Call != nil {
		t.Fatalf("the copy was parked too, in 702: %+v", v.Call)
	}
	// Hang up (the ACK is owed first) so the daemon stops without waiting on us.
	toTag, _ := ok.To().Params.Get("tag")
	p.send("ACK", "700", "merged-park", "ack1", 1, toTag)
	p.send("BYE", "700", "merged-park", "bye1", 2, toTag)
	if res := p.final("bye1"); res.StatusCode != 200 {
		t.Fatalf("BYE: got %d", res.StatusCode)
	}
}

// A request in SIP/3.0 or with a CSeq naming another method reaches no
// slot: the daemon answers 505 or 400 and parks nothing.
func TestMalformedParkInviteParksNothing(t *testing.T) {
	d := startDaemon(t, nil)
	p := newRawPhone(t, d.udp)
	local := p.conn.LocalAddr().String()
	for i, tc := range []struct {
		name, version, cseqMethod string
		code                      int
	}{
		{"SIP/3.0", "SIP/3.0", "INVITE", 505},
		{"CSeq OPTIONS", "SIP/2.0", "OPTIONS", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.t = t
			branch := fmt.Sprint("malformed", i)
			msg := fmt.Sprintf("INVITE sip:700@%s %s\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\nFrom: <sip:raw@%s>;tag=x\r\nTo: <sip:700@%s>\r\n"+
				"Call-ID: %s\r\nCSeq: 1 %s\r\nMax-Forwards: 70\r\nContact: <sip:raw@%s>\r\nContent-Length: 0\r\n\r\n",
				p.to, tc.version, local, branch, local, p.to, "malformed-"+branch, tc.cseqMethod, local)
			p.conn.WriteToUDP([]byte(msg), p.to)
			if res := p.final(branch); res.StatusCode != tc.code {
				t.Fatalf("got %d, want %d", res.StatusCode, tc.code)
			}
			if v := d.slot("701"); v.Call != nil {
				t.Fatalf("parked anyway: %+v", v.Call)
			}
		})
	}
}
