package interop

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"
)

// rtpSink is the test's own media endpoint: the SDP sipp sends points here
// (sipp -key rtp_sink PORT), so parkd's RTP for that call arrives on this
// socket, and the test can send RTP to parkd from it.
type rtpSink struct {
	conn    *net.UDPConn
	packets chan rtpPacket
	seq     uint16
	ts      uint32
	ssrc    uint32
}

// rtpPacket is one received RTP packet (RFC 3550).
type rtpPacket struct {
	at      time.Time
	from    netip.AddrPort
	version uint8
	marker  bool
	pt      uint8
	seq     uint16
	ts      uint32
	ssrc    uint32
	payload []byte
}

func newRTPSink(t *testing.T, ssrc uint32) *rtpSink {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &rtpSink{conn: conn, packets: make(chan rtpPacket, 10000), ssrc: ssrc}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return // closed
			}
			p, ok := parseRTP(buf[:n])
			if !ok {
				p = rtpPacket{payload: bytes.Clone(buf[:n])} // version 0: not RTP
			}
			p.at, p.from = time.Now(), from
			select {
			case s.packets <- p:
			default: // the test stopped reading; drop
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

func (s *rtpSink) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

// collect returns what arrives within d.
func (s *rtpSink) collect(d time.Duration) []rtpPacket {
	var out []rtpPacket
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case p := <-s.packets:
			out = append(out, p)
		case <-timer.C:
			return out
		}
	}
}

// next returns the next packet, or false after timeout.
func (s *rtpSink) next(timeout time.Duration) (rtpPacket, bool) {
	select {
	case p := <-s.packets:
		return p, true
	case <-time.After(timeout):
		return rtpPacket{}, false
	}
}

// drain discards what is queued now.
func (s *rtpSink) drain() int {
	n := 0
	for {
		select {
		case <-s.packets:
			n++
		default:
			return n
		}
	}
}

// send writes one 20 ms PCMU packet (PT 0, 160 bytes of payload) to addr.
func (s *rtpSink) send(addr netip.AddrPort, payload []byte) error {
	pkt := make([]byte, 12+len(payload))
	pkt[0] = 0x80
	pkt[1] = 0 // PCMU
	binary.BigEndian.PutUint16(pkt[2:], s.seq)
	binary.BigEndian.PutUint32(pkt[4:], s.ts)
	binary.BigEndian.PutUint32(pkt[8:], s.ssrc)
	copy(pkt[12:], payload)
	s.seq++
	s.ts += 160
	_, err := s.conn.WriteToUDPAddrPort(pkt, addr)
	return err
}

// parseRTP reads an RTP packet: fixed header, CSRCs, header extension and
// padding. ok is false when it is not RTP version 2.
func parseRTP(b []byte) (p rtpPacket, ok bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return p, false
	}
	p.version = b[0] >> 6
	p.marker = b[1]&0x80 != 0
	p.pt = b[1] & 0x7f
	p.seq = binary.BigEndian.Uint16(b[2:])
	p.ts = binary.BigEndian.Uint32(b[4:])
	p.ssrc = binary.BigEndian.Uint32(b[8:])
	off := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // extension
		if len(b) < off+4 {
			return p, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 && end > 0 { // padding
		end -= int(b[end-1])
	}
	if off > end {
		return p, false
	}
	p.payload = bytes.Clone(b[off:end])
	return p, true
}

// isPCMUFrame: RTP v2, PT 0 (PCMU), one 20 ms frame of 160 samples.
func isPCMUFrame(p rtpPacket) bool {
	return p.version == 2 && p.pt == 0 && len(p.payload) == 160
}

// filled returns a 160-byte payload of b, a pattern no hold music makes.
func filled(b byte) []byte { return bytes.Repeat([]byte{b}, 160) }
