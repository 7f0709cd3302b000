package main

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parkd/parkd/bench/internal/sipmsg"
)

// startFloor runs a floor on loopback until the test ends or it calls
// the stop it returns, after which the floor's state may be read.
func startFloor(t *testing.T, useRing bool) (*floor, func()) {
	t.Helper()
	f, err := newFloor(netip.MustParseAddrPort("127.0.0.1:0"), "700", "*700", useRing)
	if err != nil {
		t.Fatal(err)
	}
	var stopping atomic.Bool
	done := make(chan error, 1)
	go func() { done <- f.run(&stopping) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			stopping.Store(true)
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		stop()
		f.close()
	})
	return f, stop
}

// phone is one SIP socket placing calls to the floor, each with its own
// RTP socket.
type phone struct {
	t     *testing.T
	sip   *net.UDPConn
	floor netip.AddrPort
}

func newPhone(t *testing.T, f *floor) *phone {
	t.Helper()
	return &phone{t: t, sip: listen(t), floor: f.addr}
}

func listen(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// invite sends an INVITE for target offering audio at media.
func (p *phone) invite(callID, target, media string) {
	p.t.Helper()
	ip, port, _ := strings.Cut(media, ":")
	sdp := "v=0\r\no=t 1 1 IN IP4 " + ip + "\r\ns=-\r\nc=IN IP4 " + ip + "\r\nt=0 0\r\nm=audio " + port + " RTP/AVP 0\r\n"
	p.send("INVITE sip:" + target + "@" + p.floor.String() + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + p.sip.LocalAddr().String() + ";branch=z9hG4bK" + callID + "\r\n" +
		"From: <sip:phone@127.0.0.1>;tag=" + callID + "\r\nTo: <sip:" + target + "@127.0.0.1>\r\n" +
		"Call-ID: " + callID + "\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n" +
		"Content-Length: " + strconv.Itoa(len(sdp)) + "\r\n\r\n" + sdp)
}

func (p *phone) bye(callID, toTag string) {
	p.t.Helper()
	p.send("BYE sip:floor@" + p.floor.String() + " SIP/2.0\r\nVia: SIP/2.0/UDP " + p.sip.LocalAddr().String() +
		";branch=z9hG4bKbye" + callID + "\r\nFrom: <sip:phone@127.0.0.1>;tag=" + callID +
		"\r\nTo: <sip:x@127.0.0.1>;tag=" + toTag + "\r\nCall-ID: " + callID + "\r\nCSeq: 2 BYE\r\n\r\n")
}

func (p *phone) send(msg string) {
	p.t.Helper()
	if _, err := p.sip.WriteToUDPAddrPort([]byte(msg), p.floor); err != nil {
		p.t.Fatal(err)
	}
}

// next is the next SIP message the phone receives, and its raw bytes.
func (p *phone) next() (sipmsg.Message, []byte) {
	p.t.Helper()
	buf := make([]byte, 65536)
	p.sip.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := p.sip.Read(buf)
	if err != nil {
		p.t.Fatalf("no SIP message from the floor: %v", err)
	}
	m, err := sipmsg.Parse(buf[:n])
	if err != nil {
		p.t.Fatalf("the floor sent what is not SIP: %v\n%s", err, buf[:n])
	}
	return m, buf[:n]
}

// answered reads a 200 to callID's INVITE and returns the floor's RTP
// address for the call and the To tag.
func (p *phone) answered(callID string) (netip.AddrPort, string) {
	p.t.Helper()
	m, raw := p.next()
	if m.Status != 200 || m.Method != "INVITE" || m.CallID != callID || m.ToTag == "" {
		p.t.Fatalf("want a tagged 200 to INVITE %s, got:\n%s", callID, raw)
	}
	ip, port, ok := sipmsg.SDPAudio(sipmsg.Body(raw))
	if !ok {
		p.t.Fatalf("200 without an SDP answer:\n%s", raw)
	}
	return netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(port)), m.ToTag
}

// heard waits for a datagram on c and returns it.
func heard(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("nothing arrived at %v: %v", c.LocalAddr(), err)
	}
	return buf[:n]
}

// hears reads c until a datagram equal to want arrives (music may come
// first), failing after a second.
func hears(t *testing.T, c *net.UDPConn, want []byte) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	buf := make([]byte, 2048)
	for {
		c.SetReadDeadline(deadline)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("%q never arrived at %v: %v", want, c.LocalAddr(), err)
		}
		if bytes.Equal(buf[:n], want) {
			return
		}
	}
}

func TestParkRetrieveRelayAndHangUp(t *testing.T) {
	for _, useRing := range []bool{true, false} {
		t.Run("uring="+strconv.FormatBool(useRing), func(t *testing.T) {
			f, stop := startFloor(t, useRing)
			ph := newPhone(t, f)
			parkedRTP, retrieverRTP := listen(t), listen(t)

			ph.invite("parked", "700", parkedRTP.LocalAddr().String())
			parkedAt, _ := ph.answered("parked")
			music := heard(t, parkedRTP)
			if len(music) != musicLen || music[0] != 0x80 || music[len(music)-1] != 0xff {
				t.Fatalf("the parked call heard % x, want %d bytes of PCMU silence", music, musicLen)
			}

			ph.invite("retriever", "*700", retrieverRTP.LocalAddr().String())
			retrieverAt, tag := ph.answered("retriever")
			if retrieverAt == parkedAt {
				t.Fatalf("both calls answered with RTP at %v", parkedAt)
			}
			ph.send("ACK sip:floor SIP/2.0\r\nCall-ID: retriever\r\nCSeq: 1 ACK\r\n\r\n")
			for _, leg := range []struct {
				from *net.UDPConn
				to   netip.AddrPort
				at   *net.UDPConn
				say  string
			}{{retrieverRTP, retrieverAt, parkedRTP, "hello from the retriever"}, {parkedRTP, parkedAt, retrieverRTP, "hello back"}} {
				if _, err := leg.from.WriteToUDPAddrPort([]byte(leg.say), leg.to); err != nil {
					t.Fatal(err)
				}
				hears(t, leg.at, []byte(leg.say))
			}

			ph.bye("retriever", tag)
			got := map[string]sipmsg.Message{}
			for range 2 { // the 200 to our BYE and the floor's BYE to the parked call, in either order
				m, _ := ph.next()
				got[m.CallID] = m
			}
			if m := got["retriever"]; m.Status != 200 || m.Method != "BYE" {
				t.Errorf("the retriever's BYE got %+v, want 200", m)
			}
			if m := got["parked"]; !m.Request || m.Method != "BYE" {
				t.Errorf("the parked call got %+v, want a BYE", m)
			}
			stop()
			if len(f.calls) != 0 || f.answered != 2 || f.relayed != 2 {
				t.Errorf("%d calls left after both hung up, %d answered, %d packets relayed; want 0, 2, 2",
					len(f.calls), f.answered, f.relayed)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	f, _ := startFloor(t, false)
	ph := newPhone(t, f)
	media := listen(t).LocalAddr().String()
	cases := []struct {
		name, target, media string
		want                int
	}{
		{"retrieve with nobody parked", "*700", media, 480},
		{"an extension it does not serve", "555", media, 404},
		{"audio to an address off this machine", "700", "192.0.2.1:4000", 488},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ph.invite(tc.name, tc.target, tc.media)
			if m, raw := ph.next(); m.Status != tc.want || m.CallID != tc.name || m.ToTag == "" {
				t.Fatalf("want %d with a To tag, got:\n%s", tc.want, raw)
			}
		})
	}
	t.Run("BYE for no call", func(t *testing.T) {
		ph.bye("nobody", "x")
		if m, raw := ph.next(); m.Status != 481 {
			t.Fatalf("want 481, got:\n%s", raw)
		}
	})
}

func TestRetransmittedInviteGetsTheSameAnswer(t *testing.T) {
	f, stop := startFloor(t, false)
	ph := newPhone(t, f)
	media := listen(t).LocalAddr().String()
	ph.invite("again", "700", media)
	_, first := ph.next()
	ph.invite("again", "700", media)
	if _, second := ph.next(); !bytes.Equal(first, second) {
		t.Fatalf("the retransmission was answered differently:\n%s\nthen\n%s", first, second)
	}
	stop()
	if len(f.music) != 1 {
		t.Errorf("%d calls hear music after one INVITE sent twice", len(f.music))
	}
}

// The floor forgets a call at its BYE; a BYE sent again because the 200
// was lost must still get a 200, or the generator fails the pair.
func TestRetransmittedByeGetsItsOKAgain(t *testing.T) {
	f, _ := startFloor(t, false)
	ph := newPhone(t, f)
	ph.invite("leaving", "700", listen(t).LocalAddr().String())
	_, tag := ph.answered("leaving")
	for i := range 2 {
		ph.bye("leaving", tag)
		if m, raw := ph.next(); m.Status != 200 || m.Method != "BYE" {
			t.Fatalf("BYE %d: want 200, got:\n%s", i+1, raw)
		}
	}
}

func TestRecentlyEndedForgetsTheOldest(t *testing.T) {
	var r recentlyEnded
	for i := range endedKept + 2 {
		r.add(strconv.Itoa(i))
	}
	for id, want := range map[string]bool{"0": false, "1": false, "2": true, strconv.Itoa(endedKept + 1): true, "x": false} {
		if got := r.has(id); got != want {
			t.Errorf("has(%s) = %v, want %v", id, got, want)
		}
	}
	if len(r.ids) != endedKept {
		t.Errorf("%d ids kept, want %d", len(r.ids), endedKept)
	}
}
