package media

import "fmt"

// Codec is a G.711 variant; values are the static RTP payload types of
// RFC 3551, so a Codec converts directly to the PT a peer normally uses.
type Codec uint8

const (
	PCMU Codec = 0 // G.711 µ-law
	PCMA Codec = 8 // G.711 A-law
)

func (c Codec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	}
	return fmt.Sprintf("Codec(%d)", uint8(c))
}

// Format is what SDP negotiation agreed for one leg.
type Format struct {
	Codec   Codec
	AudioPT uint8 // payload type the peer uses for the codec (normally == uint8(Codec))
	EventPT uint8 // telephone-event (RFC 4733) payload type; 0 means not negotiated
}

// The encoders below follow the ITU-T G.191 STL reference implementation of
// G.711 (g711.c: ulaw_compress/alaw_compress): negative inputs use the one's
// complement, which is what makes decode->encode an identity. Decoding goes
// through 256-entry tables computed once from the reference expanders, and
// transcoding through tables built from those, so the per-sample cost on
// the relay path is a single indexed load.

// EncodeUlaw compresses a 16-bit linear sample to µ-law (14 significant bits).
func EncodeUlaw(pcm int16) byte {
	x := int32(pcm)
	var mag int32
	if x < 0 {
		mag = (^x)>>2 + 33
	} else {
		mag = x>>2 + 33
	}
	if mag > 0x1FFF {
		mag = 0x1FFF
	}
	seg := int32(1)
	for i := mag >> 6; i != 0; i >>= 1 {
		seg++
	}
	high := 8 - seg
	low := 0xF - (mag>>seg)&0xF
	out := byte(high<<4 | low)
	if x >= 0 {
		out |= 0x80
	}
	return out
}

// EncodeAlaw compresses a 16-bit linear sample to A-law (13 significant bits).
func EncodeAlaw(pcm int16) byte {
	x := int32(pcm)
	var ix int32
	if x < 0 {
		ix = (^x) >> 4
	} else {
		ix = x >> 4
	}
	if ix > 15 {
		exp := int32(1)
		for ix > 16+15 {
			ix >>= 1
			exp++
		}
		ix -= 16
		ix += exp << 4
	}
	if x >= 0 {
		ix |= 0x80
	}
	return byte(ix) ^ 0x55
}

// DecodeUlaw expands a µ-law byte to a 16-bit linear sample.
func DecodeUlaw(b byte) int16 { return ulawToLinear[b] }

// DecodeAlaw expands an A-law byte to a 16-bit linear sample.
func DecodeAlaw(b byte) int16 { return alawToLinear[b] }

// UlawToAlaw converts one µ-law byte to A-law (decode then re-encode).
func UlawToAlaw(b byte) byte { return ulawToAlaw[b] }

// AlawToUlaw converts one A-law byte to µ-law (decode then re-encode).
func AlawToUlaw(b byte) byte { return alawToUlaw[b] }

var (
	ulawToLinear = buildTable(expandUlaw)
	alawToLinear = buildTable(expandAlaw)
	ulawToAlaw   = buildTranscode(ulawToLinear, EncodeAlaw)
	alawToUlaw   = buildTranscode(alawToLinear, EncodeUlaw)
)

func buildTable(expand func(byte) int16) (t [256]int16) {
	for i := range t {
		t[i] = expand(byte(i))
	}
	return t
}

func buildTranscode(decode [256]int16, encode func(int16) byte) (t [256]byte) {
	for i := range t {
		t[i] = encode(decode[i])
	}
	return t
}

// expandUlaw is G.191's ulaw_expand for one byte.
func expandUlaw(b byte) int16 {
	sign := int32(1)
	if b < 0x80 {
		sign = -1
	}
	m := int32(^b)
	exp := (m >> 4) & 7
	step := int32(4) << (exp + 1)
	m &= 0xF
	return int16(sign * ((0x80 << exp) + step*m + step/2 - 4*33))
}

// expandAlaw is G.191's alaw_expand for one byte.
func expandAlaw(b byte) int16 {
	ix := int32(b^0x55) & 0x7F
	exp := ix >> 4
	m := ix & 0xF
	if exp > 0 {
		m += 16
	}
	m = m<<4 + 8
	if exp > 1 {
		m <<= exp - 1
	}
	if b > 127 {
		return int16(m)
	}
	return int16(-m)
}

// transcodeInPlace rewrites a G.711 payload from one law to the other.
// Same-law payloads are left untouched; anything that is not PCMA is
// treated as µ-law, matching how the senders pick a frame.
func transcodeInPlace(p []byte, from, to Codec) {
	fromA, toA := from == PCMA, to == PCMA
	if fromA == toA {
		return
	}
	table := &ulawToAlaw
	if fromA {
		table = &alawToUlaw
	}
	for i, b := range p {
		p[i] = table[b]
	}
}
