package media

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wavSpec describes a WAV file to build in a test.
type wavSpec struct {
	tag      uint16
	channels int
	rate     int
	bits     int
	data     []byte
	// extensible wraps tag in WAVE_FORMAT_EXTENSIBLE.
	extensible bool
	// listFirst puts a LIST chunk (odd-sized, so padded) before fmt.
	listFirst bool
	// dataSize overrides the data chunk's size field (to fake truncation).
	dataSize *uint32
	noData   bool
}

func buildWAV(s wavSpec) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	chunk := func(id string, body []byte) {
		b.WriteString(id)
		_ = binary.Write(&b, le, uint32(len(body)))
		b.Write(body)
		if len(body)%2 == 1 {
			b.WriteByte(0)
		}
	}
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, uint32(0)) // many writers get this wrong; we ignore it
	b.WriteString("WAVE")
	if s.listFirst {
		chunk("LIST", []byte("INFOIART\x03\x00\x00\x00ab\x00"))
	}
	var fmtBody bytes.Buffer
	blockAlign := s.channels * s.bits / 8
	tag := s.tag
	if s.extensible {
		tag = wavExtensible
	}
	_ = binary.Write(&fmtBody, le, tag)
	_ = binary.Write(&fmtBody, le, uint16(s.channels))
	_ = binary.Write(&fmtBody, le, uint32(s.rate))
	_ = binary.Write(&fmtBody, le, uint32(s.rate*blockAlign))
	_ = binary.Write(&fmtBody, le, uint16(blockAlign))
	_ = binary.Write(&fmtBody, le, uint16(s.bits))
	if s.extensible {
		_ = binary.Write(&fmtBody, le, uint16(22))     // cbSize
		_ = binary.Write(&fmtBody, le, uint16(s.bits)) // valid bits
		_ = binary.Write(&fmtBody, le, uint32(0))      // channel mask
		_ = binary.Write(&fmtBody, le, s.tag)          // sub-format GUID...
		fmtBody.Write([]byte{0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71})
	}
	chunk("fmt ", fmtBody.Bytes())
	if s.noData {
		return b.Bytes()
	}
	if s.dataSize != nil {
		b.WriteString("data")
		_ = binary.Write(&b, le, *s.dataSize)
		b.Write(s.data)
		return b.Bytes()
	}
	chunk("data", s.data)
	return b.Bytes()
}

// sine returns seconds of a tone at freq and rate, amplitude amp, as
// interleaved 16-bit little-endian PCM with the same signal on every channel.
func sinePCM16(freq float64, rate, channels int, seconds, amp float64) []byte {
	n := int(seconds * float64(rate))
	out := make([]byte, 0, n*2*channels)
	for i := range n {
		v := int16(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
		for range channels {
			out = binary.LittleEndian.AppendUint16(out, uint16(v))
		}
	}
	return out
}

func zeroCrossings(pcm []int16) int {
	n := 0
	for i := 1; i < len(pcm); i++ {
		if (pcm[i-1] < 0) != (pcm[i] < 0) {
			n++
		}
	}
	return n
}

func rms(pcm []int16) float64 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(pcm)))
}

func TestDecodeWAVConvertsTo8kMono(t *testing.T) {
	const amp = 10000
	tone := func(rate, channels int) []byte { return sinePCM16(1000, rate, channels, 1, amp) }
	ulaw := make([]byte, 8000)
	for i := range ulaw {
		ulaw[i] = EncodeUlaw(int16(amp * math.Sin(2*math.Pi*1000*float64(i)/8000)))
	}
	alaw := make([]byte, 8000)
	for i := range alaw {
		alaw[i] = EncodeAlaw(int16(amp * math.Sin(2*math.Pi*1000*float64(i)/8000)))
	}
	u8 := make([]byte, 22050) // 8-bit unsigned, 22.05 kHz, 1 s
	for i := range u8 {
		u8[i] = byte(128 + 100*math.Sin(2*math.Pi*1000*float64(i)/22050))
	}
	cases := []struct {
		name    string
		spec    wavSpec
		wantLen int
		wantRMS float64 // 0: skip
	}{
		{"pcm16 8k mono", wavSpec{tag: wavPCM, channels: 1, rate: 8000, bits: 16, data: tone(8000, 1)}, 8000, amp / math.Sqrt2},
		{"pcm16 16k stereo", wavSpec{tag: wavPCM, channels: 2, rate: 16000, bits: 16, data: tone(16000, 2)}, 8000, amp / math.Sqrt2},
		{"pcm16 44.1k mono", wavSpec{tag: wavPCM, channels: 1, rate: 44100, bits: 16, data: tone(44100, 1)}, 8000, amp / math.Sqrt2},
		{"pcm16 48k stereo extensible", wavSpec{tag: wavPCM, extensible: true, channels: 2, rate: 48000, bits: 16, data: tone(48000, 2)}, 8000, amp / math.Sqrt2},
		{"pcm16 6k mono (upsampled)", wavSpec{tag: wavPCM, channels: 1, rate: 6000, bits: 16, data: tone(6000, 1)}, 8000, 0},
		{"pcm8 22.05k mono", wavSpec{tag: wavPCM, channels: 1, rate: 22050, bits: 8, data: u8}, 8000, 100 * 256 / math.Sqrt2},
		{"ulaw 8k", wavSpec{tag: wavMuLaw, channels: 1, rate: 8000, bits: 8, data: ulaw}, 8000, amp / math.Sqrt2},
		{"alaw 8k, LIST chunk first", wavSpec{tag: wavALaw, channels: 1, rate: 8000, bits: 8, data: alaw, listFirst: true}, 8000, amp / math.Sqrt2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pcm, err := DecodeWAV(bytes.NewReader(buildWAV(tc.spec)))
			if err != nil {
				t.Fatal(err)
			}
			if len(pcm) != tc.wantLen {
				t.Fatalf("got %d samples, want %d", len(pcm), tc.wantLen)
			}
			// 1 kHz for one second crosses zero 2000 times; allow for the
			// edges and the filter's start-up.
			if zc := zeroCrossings(pcm); zc < 1990 || zc > 2010 {
				t.Errorf("1 kHz tone has %d zero crossings at 8 kHz, want ~2000", zc)
			}
			if tc.wantRMS > 0 {
				if got := rms(pcm[100 : len(pcm)-100]); math.Abs(got-tc.wantRMS)/tc.wantRMS > 0.05 {
					t.Errorf("level changed: rms %.0f, want %.0f", got, tc.wantRMS)
				}
			}
		})
	}
}

func TestDecodeWAVUlawIsExact(t *testing.T) {
	data := []byte{0x00, 0x7F, 0x80, 0xFF, 0x42, 0xC3}
	pcm, err := DecodeWAV(bytes.NewReader(buildWAV(wavSpec{tag: wavMuLaw, channels: 1, rate: 8000, bits: 8, data: data})))
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range data {
		if pcm[i] != DecodeUlaw(b) {
			t.Errorf("sample %d: %d, want %d", i, pcm[i], DecodeUlaw(b))
		}
	}
}

// Content above the 8 kHz Nyquist must be filtered out, not folded back.
func TestDecodeWAVLowPassBlocksAliasing(t *testing.T) {
	for _, freq := range []float64{5000, 6000, 10000} {
		data := sinePCM16(freq, 44100, 1, 1, 10000)
		pcm, err := DecodeWAV(bytes.NewReader(buildWAV(wavSpec{tag: wavPCM, channels: 1, rate: 44100, bits: 16, data: data})))
		if err != nil {
			t.Fatal(err)
		}
		if got := rms(pcm[100 : len(pcm)-100]); got > 10000/math.Sqrt2*0.03 {
			t.Errorf("%.0f Hz tone leaks through at rms %.0f (more than -30 dB)", freq, got)
		}
	}
}

func TestDecodeWAVErrors(t *testing.T) {
	pcm := sinePCM16(1000, 8000, 1, 0.1, 1000)
	short := uint32(len(pcm) + 100)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty input", nil, "not a WAV file"},
		{"not RIFF", []byte("ID3\x03\x00\x00\x00\x00\x00\x00\x00\x00garbage"), "not a WAV file"},
		{"RIFF but AVI", []byte("RIFF\x00\x00\x00\x00AVI LIST"), `not "WAVE"`},
		{"RF64", []byte("RF64\xff\xff\xff\xffWAVE"), "RF64"},
		{"float", buildWAV(wavSpec{tag: wavFloat, channels: 1, rate: 8000, bits: 32, data: make([]byte, 64)}), "unsupported WAV format 3 (IEEE float); use 16-bit PCM"},
		{"mp3", buildWAV(wavSpec{tag: wavMP3, channels: 1, rate: 8000, bits: 0, data: make([]byte, 64)}), "unsupported WAV format 85 (MP3)"},
		{"adpcm", buildWAV(wavSpec{tag: wavADPCM, channels: 1, rate: 8000, bits: 4, data: make([]byte, 64)}), "Microsoft ADPCM"},
		{"24-bit", buildWAV(wavSpec{tag: wavPCM, channels: 1, rate: 8000, bits: 24, data: make([]byte, 66)}), "unsupported 24-bit PCM; use 16-bit PCM"},
		{"24-bit extensible", buildWAV(wavSpec{tag: wavPCM, extensible: true, channels: 2, rate: 48000, bits: 24, data: make([]byte, 60)}), "24-bit"},
		{"float extensible", buildWAV(wavSpec{tag: wavFloat, extensible: true, channels: 2, rate: 48000, bits: 32, data: make([]byte, 64)}), "IEEE float"},
		{"ulaw 16k", buildWAV(wavSpec{tag: wavMuLaw, channels: 1, rate: 16000, bits: 8, data: make([]byte, 64)}), "must be 8000 Hz"},
		{"6 channels", buildWAV(wavSpec{tag: wavPCM, channels: 6, rate: 8000, bits: 16, data: make([]byte, 120)}), "channel count 6"},
		{"zero rate", buildWAV(wavSpec{tag: wavPCM, channels: 1, rate: 0, bits: 16, data: make([]byte, 64)}), "sample rate 0"},
		{"no data chunk", buildWAV(wavSpec{tag: wavPCM, channels: 1, rate: 8000, bits: 16, noData: true}), "no data chunk"},
		{"zero-length data", buildWAV(wavSpec{tag: wavPCM, channels: 1, rate: 8000, bits: 16, data: []byte{}}), "empty data chunk"},
		{"one byte of 16-bit", buildWAV(wavSpec{tag: wavPCM, channels: 1, rate: 8000, bits: 16, data: []byte{1}}), "less than one sample"},
		{"truncated data", buildWAV(wavSpec{tag: wavPCM, channels: 1, rate: 8000, bits: 16, data: pcm, dataSize: &short}), "truncated data chunk"},
		{"truncated fmt", buildWAV(wavSpec{tag: wavPCM, channels: 1, rate: 8000, bits: 16, data: pcm})[:30], "truncated fmt chunk"},
		{"header only", []byte("RIFF\x00\x00\x00\x00WAVE"), "no fmt or data chunk"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := DecodeWAV(bytes.NewReader(tc.in))
			if err == nil {
				t.Fatalf("no error, got %d samples", len(out))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestLoadWAVSource(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "hold.wav")
	if err := os.WriteFile(good, buildWAV(wavSpec{tag: wavPCM, channels: 1, rate: 8000, bits: 16, data: sinePCM16(440, 8000, 1, 0.5, 5000)}), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := LoadWAVSource(good)
	if err != nil {
		t.Fatal(err)
	}
	if src.Name() != "hold.wav" || src.frames != 25 {
		t.Fatalf("source %q with %d frames, want hold.wav with 25", src.Name(), src.frames)
	}

	bad := filepath.Join(dir, "x.wav")
	if err := os.WriteFile(bad, buildWAV(wavSpec{tag: wavFloat, channels: 1, rate: 8000, bits: 32, data: make([]byte, 64)}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadWAVSource(bad)
	want := `moh file "` + bad + `": unsupported WAV format 3 (IEEE float); use 16-bit PCM`
	if err == nil || err.Error() != want {
		t.Fatalf("got error %v, want %s", err, want)
	}
	if _, err := LoadWAVSource(filepath.Join(dir, "missing.wav")); err == nil || !strings.Contains(err.Error(), "missing.wav") {
		t.Fatalf("missing file: %v", err)
	}
}

func FuzzDecodeWAV(f *testing.F) {
	f.Add(buildWAV(wavSpec{tag: wavPCM, channels: 1, rate: 8000, bits: 16, data: sinePCM16(1000, 8000, 1, 0.01, 1000)}))
	f.Add(buildWAV(wavSpec{tag: wavPCM, channels: 2, rate: 44100, bits: 16, data: sinePCM16(1000, 44100, 2, 0.01, 1000)}))
	f.Add(buildWAV(wavSpec{tag: wavPCM, channels: 1, rate: 11025, bits: 8, data: []byte{1, 2, 3, 200}}))
	f.Add(buildWAV(wavSpec{tag: wavMuLaw, channels: 1, rate: 8000, bits: 8, data: []byte{0, 0x7f, 0xff}, listFirst: true}))
	f.Add(buildWAV(wavSpec{tag: wavPCM, extensible: true, channels: 2, rate: 48000, bits: 16, data: make([]byte, 40)}))
	f.Add(buildWAV(wavSpec{tag: wavFloat, channels: 1, rate: 8000, bits: 32, data: make([]byte, 8)}))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEdata\xff\xff\xff\xff"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		pcm, err := DecodeWAV(bytes.NewReader(in))
		if err == nil && len(pcm) == 0 {
			t.Fatal("no error but no audio")
		}
		// Resampling never inflates by more than the 8x of the lowest rate.
		if len(pcm) > 8*len(in)+1 {
			t.Fatalf("%d input bytes produced %d samples", len(in), len(pcm))
		}
	})
}
