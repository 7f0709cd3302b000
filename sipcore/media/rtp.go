package media

import "encoding/binary"

// RTP framing constants for G.711 at 8 kHz.
const (
	rtpHeaderLen   = 12
	sampleRate     = 8000
	frameSamples   = 160 // 20 ms at 8 kHz; one G.711 byte per sample
	mohPacketLen   = rtpHeaderLen + frameSamples
	maxPacketLen   = 2048 // read buffer: anything larger is not G.711 voice
	payloadTypeCN  = 13
	rtcpPTFirst    = 64 // RFC 5761 §4: PTs 64-95 collide with RTCP when muxed
	rtcpPTLast     = 95
	rtpVersionBits = 2 << 6
)

// rtpPacket is the part of a received RTP header the media plane needs,
// plus where the payload sits in the buffer. It is a plain value so that
// parsing never allocates.
type rtpPacket struct {
	marker     bool
	pt         uint8
	seq        uint16
	ts         uint32
	ssrc       uint32
	payloadOff int // first payload byte; always >= rtpHeaderLen
	payloadEnd int // one past the last payload byte (padding excluded)
}

// parseRTP validates b as an RTP version 2 packet and locates its payload,
// skipping CSRCs and a header extension and removing padding. Anything that
// does not add up is reported as !ok; it never panics on garbage.
func parseRTP(b []byte) (p rtpPacket, ok bool) {
	if len(b) < rtpHeaderLen || b[0]>>6 != 2 {
		return p, false
	}
	p.marker = b[1]&0x80 != 0
	p.pt = b[1] & 0x7F
	if p.pt >= rtcpPTFirst && p.pt <= rtcpPTLast {
		return p, false // RTCP (or something pretending to be RTP)
	}
	p.seq = binary.BigEndian.Uint16(b[2:])
	p.ts = binary.BigEndian.Uint32(b[4:])
	p.ssrc = binary.BigEndian.Uint32(b[8:])

	off := rtpHeaderLen + 4*int(b[0]&0x0F)
	if off > len(b) {
		return p, false
	}
	if b[0]&0x10 != 0 { // header extension: 4-byte preamble + length words
		if off+4 > len(b) {
			return p, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
		if off > len(b) {
			return p, false
		}
	}
	end := len(b)
	if b[0]&0x20 != 0 { // padding: the last byte counts the padding bytes
		pad := int(b[len(b)-1])
		if pad == 0 || pad > end-off {
			return p, false
		}
		end -= pad
	}
	p.payloadOff, p.payloadEnd = off, end
	return p, true
}

// putRTPHeader writes a minimal 12-byte header (no CSRC, no extension, no
// padding) into b[:12].
func putRTPHeader(b []byte, marker bool, pt uint8, seq uint16, ts, ssrc uint32) {
	_ = b[rtpHeaderLen-1]
	b[0] = rtpVersionBits
	b[1] = pt & 0x7F
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
}
