package media

import (
	"math"
	"testing"
)

func TestCodecString(t *testing.T) {
	for c, want := range map[Codec]string{PCMU: "PCMU", PCMA: "PCMA", 3: "Codec(3)"} {
		if got := c.String(); got != want {
			t.Errorf("Codec(%d).String() = %q, want %q", uint8(c), got, want)
		}
	}
}

// Every code decodes to a value that encodes back to the same code; the
// only exception is µ-law's negative zero 0x7F, which decodes to 0 and
// encodes as positive zero 0xFF.
func TestG711RoundTripEveryByte(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		wantU := b
		if b == 0x7F {
			wantU = 0xFF
		}
		if got := EncodeUlaw(DecodeUlaw(b)); got != wantU {
			t.Errorf("µ-law %#02x: decode %d, encode %#02x, want %#02x", b, DecodeUlaw(b), got, wantU)
		}
		if got := EncodeAlaw(DecodeAlaw(b)); got != b {
			t.Errorf("A-law %#02x: decode %d, encode %#02x", b, DecodeAlaw(b), got)
		}
	}
}

// Values from G.711 (Tables 1a/2a, scaled to 16 bits as G.191 does).
func TestG711KnownValues(t *testing.T) {
	encode := []struct {
		name string
		f    func(int16) byte
		in   int16
		want byte
	}{
		{"ulaw 0", EncodeUlaw, 0, 0xFF},
		{"ulaw max", EncodeUlaw, math.MaxInt16, 0x80},
		{"ulaw min", EncodeUlaw, math.MinInt16, 0x00},
		{"ulaw -8", EncodeUlaw, -8, 0x7E},
		{"ulaw 1000", EncodeUlaw, 1000, 0xCE},
		{"alaw 0", EncodeAlaw, 0, 0xD5},
		{"alaw -1", EncodeAlaw, -1, 0x55},
		{"alaw max", EncodeAlaw, math.MaxInt16, 0xAA},
		{"alaw min", EncodeAlaw, math.MinInt16, 0x2A},
		{"alaw 1000", EncodeAlaw, 1000, 0xFA},
	}
	for _, tc := range encode {
		if got := tc.f(tc.in); got != tc.want {
			t.Errorf("%s: encode(%d) = %#02x, want %#02x", tc.name, tc.in, got, tc.want)
		}
	}
	decode := []struct {
		name string
		f    func(byte) int16
		in   byte
		want int16
	}{
		{"ulaw +0", DecodeUlaw, 0xFF, 0},
		{"ulaw -0", DecodeUlaw, 0x7F, 0},
		{"ulaw max", DecodeUlaw, 0x80, 32124},
		{"ulaw min", DecodeUlaw, 0x00, -32124},
		{"ulaw 0xFE", DecodeUlaw, 0xFE, 8},
		{"alaw smallest +", DecodeAlaw, 0xD5, 8},
		{"alaw smallest -", DecodeAlaw, 0x55, -8},
		{"alaw max", DecodeAlaw, 0xAA, 32256},
		{"alaw min", DecodeAlaw, 0x2A, -32256},
	}
	for _, tc := range decode {
		if got := tc.f(tc.in); got != tc.want {
			t.Errorf("%s: decode(%#02x) = %d, want %d", tc.name, tc.in, got, tc.want)
		}
	}
}

// Companding is monotonic and the quantization error stays within half a
// step of the coarsest segment (plus µ-law's clipping above 32124).
func TestG711EncodeIsMonotonicAndClose(t *testing.T) {
	laws := []struct {
		name   string
		encode func(int16) byte
		decode func(byte) int16
		maxErr int
	}{
		{"ulaw", EncodeUlaw, DecodeUlaw, 32768 - 32124},
		{"alaw", EncodeAlaw, DecodeAlaw, 512},
	}
	for _, law := range laws {
		prev := math.MinInt32
		for x := math.MinInt16; x <= math.MaxInt16; x++ {
			y := int(law.decode(law.encode(int16(x))))
			if y < prev {
				t.Fatalf("%s: not monotonic at %d: %d after %d", law.name, x, y, prev)
			}
			if d := y - x; d > law.maxErr || d < -law.maxErr {
				t.Fatalf("%s: %d reconstructs as %d", law.name, x, y)
			}
			prev = y
		}
	}
}

func TestTranscodeTablesMatchDecodeEncode(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		if got, want := UlawToAlaw(b), EncodeAlaw(DecodeUlaw(b)); got != want {
			t.Errorf("UlawToAlaw(%#02x) = %#02x, want %#02x", b, got, want)
		}
		if got, want := AlawToUlaw(b), EncodeUlaw(DecodeAlaw(b)); got != want {
			t.Errorf("AlawToUlaw(%#02x) = %#02x, want %#02x", b, got, want)
		}
		// Transcoding must not move the signal by more than one A-law step.
		if d := int(DecodeAlaw(UlawToAlaw(b))) - int(DecodeUlaw(b)); d > 1024 || d < -1024 {
			t.Errorf("UlawToAlaw(%#02x) moves the level by %d", b, d)
		}
	}
}

func TestTranscodeInPlace(t *testing.T) {
	p := []byte{0x00, 0x7F, 0x80, 0xFF, 0x12}
	orig := append([]byte(nil), p...)
	transcodeInPlace(p, PCMU, PCMU)
	transcodeInPlace(p, PCMA, PCMA)
	for i := range p {
		if p[i] != orig[i] {
			t.Fatalf("same-codec transcode changed byte %d", i)
		}
	}
	transcodeInPlace(p, PCMU, PCMA)
	for i := range p {
		if p[i] != UlawToAlaw(orig[i]) {
			t.Fatalf("byte %d: got %#02x want %#02x", i, p[i], UlawToAlaw(orig[i]))
		}
	}
}
