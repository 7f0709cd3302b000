package parkd_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/media"
	"github.com/parkd/parkd/sipcore/siptest"
)

// wav16 writes a mono 16-bit PCM WAV of samples at rate.
func wav16(t *testing.T, rate int, samples []int16) string {
	t.Helper()
	var data bytes.Buffer
	binary.Write(&data, binary.LittleEndian, samples)
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data.Len()))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(rate * 2), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data.Len()))
	b.Write(data.Bytes())
	path := filepath.Join(t.TempDir(), "hold.wav")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A configured WAV is what the parked caller hears, in the caller's codec.
func TestMusicOnHoldFromWAV(t *testing.T) {
	samples := make([]int16, 8000)
	for i := range samples {
		samples[i] = 1000 // a constant level: every frame encodes to one byte value
	}
	path := wav16(t, 8000, samples)
	d := startDaemon(t, func(c *parkd.Config) {
		c.MOH = path
		c.Lots[0].AnnounceSlot = new(bool) // music from the first packet
	})
	call := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{Codecs: []string{"PCMA"}})
	pkts, err := call.RTP.Collect(ctxFor(t, 3*time.Second), 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte{media.EncodeAlaw(1000)}, 160)
	for i, p := range pkts {
		if p.PayloadType != 8 || !bytes.Equal(p.Payload, want) {
			t.Fatalf("packet %d: PT %d payload %x…, want PT 8 and the WAV's level in A-law (%x)", i, p.PayloadType, p.Payload[:4], want[:4])
		}
	}
}

// An INVITE without SDP gets our offer in the 200 and the answer in the ACK.
func TestLateOffer(t *testing.T) {
	d := startDaemon(t, nil)
	call := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{NoSDP: true})
	d.waitEvent(parkd.EventParked, "701")
	if _, err := call.RTP.Collect(ctxFor(t, 3*time.Second), 5, nil); err != nil {
		t.Fatalf("no music after a late-offer park: %v", err)
	}
}

// Behind NAT, SDP and Contact carry the advertised address.
func TestAdvertisedAddress(t *testing.T) {
	// 127.0.0.2 is loopback too, so nothing leaves the machine.
	d := startDaemon(t, func(c *parkd.Config) { c.SIP.Advertise = "127.0.0.2" })
	call := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	if got := call.RTP.Remote().Addr().String(); got != "127.0.0.2" {
		t.Errorf("SDP c= address %s, want the advertised 127.0.0.2", got)
	}
	if !contains(call.Header("Contact"), "@127.0.0.2:") {
		t.Errorf("Contact %q does not carry the advertised address", call.Header("Contact"))
	}
}

// Symmetric RTP: music goes where the caller's packets come from, not to
// the port its SDP named (a phone behind NAT).
func TestSymmetricRTP(t *testing.T) {
	d := startDaemon(t, nil)
	call := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	natted, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer natted.Close()
	pkt := []byte{0x80, 0, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4}
	pkt = append(pkt, make([]byte, 160)...)
	if _, err := natted.WriteToUDPAddrPort(pkt, call.RTP.Remote()); err != nil {
		t.Fatal(err)
	}
	natted.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 1500)
	n, _, err := natted.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no RTP at the address the caller sent from: %v", err)
	}
	if n != 172 || buf[0]>>6 != 2 {
		t.Errorf("got %d bytes, version %d; want a 172-byte RTP v2 packet", n, buf[0]>>6)
	}
}

// Garbage on the SIP port does not disturb a call in progress.
func TestMalformedSIPLeavesCallsAlone(t *testing.T) {
	d := startDaemon(t, nil)
	call := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	conn, err := net.Dial("udp", d.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, junk := range []string{
		"\x00\x01garbage",
		"INVITE sip:700@x SIP/2.0\r\nVia: nonsense\r\n\r\n",
		"BYE sip:parkd@127.0.0.1 SIP/2.0\r\nCall-ID: " + call.CallID() + "\r\nCSeq: x BYE\r\n\r\n",
		"INVITE sip:700@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKnofrom\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		"BYE sip:700@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKnoto\r\nCall-ID: " + call.CallID() + "\r\nCSeq: 9 BYE\r\nContent-Length: 0\r\n\r\n",
		"ACK sip:700@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKack\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
	} {
		conn.Write([]byte(junk))
	}
	time.Sleep(100 * time.Millisecond)
	if v := d.slot("701"); v.Call == nil {
		t.Fatal("the parked call left its slot after malformed requests")
	}
	call.RTP.Drain()
	if _, err := call.RTP.Collect(ctxFor(t, 2*time.Second), 5, nil); err != nil {
		t.Fatalf("music stopped after malformed requests: %v", err)
	}
}
