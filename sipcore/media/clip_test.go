package media

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestNewClipPadsToFrames(t *testing.T) {
	cases := []struct {
		samples int
		frames  int
	}{{0, 0}, {1, 1}, {160, 1}, {161, 2}, {800, 5}}
	for _, tc := range cases {
		pcm := make([]int16, tc.samples)
		for i := range pcm {
			pcm[i] = 1000
		}
		c := NewClip(pcm)
		if c.frames != tc.frames || len(c.ulaw) != tc.frames*frameSamples || len(c.alaw) != len(c.ulaw) {
			t.Errorf("%d samples: %d frames, %d/%d bytes; want %d frames", tc.samples, c.frames, len(c.ulaw), len(c.alaw), tc.frames)
		}
		if c.Duration() != time.Duration(tc.frames)*frameDuration {
			t.Errorf("%d samples: Duration() = %v", tc.samples, c.Duration())
		}
		if tc.samples%frameSamples != 0 && (c.ulaw[len(c.ulaw)-1] != EncodeUlaw(0) || c.alaw[len(c.alaw)-1] != EncodeAlaw(0)) {
			t.Errorf("%d samples: padding is not silence", tc.samples)
		}
		if tc.samples > 0 && (c.ulaw[0] != EncodeUlaw(1000) || c.alaw[0] != EncodeAlaw(1000)) {
			t.Errorf("%d samples: audio not encoded in both laws", tc.samples)
		}
	}
	var nilClip *Clip
	if nilClip.Duration() != 0 {
		t.Error("a nil clip has a duration")
	}
}

func TestConcatAndSilence(t *testing.T) {
	a := NewClip(bytesToPCM(300, 100)) // 2 frames
	b := NewClip(bytesToPCM(160, 200)) // 1 frame
	gap := SilenceClip(50 * time.Millisecond)
	if gap.Duration() != 60*time.Millisecond {
		t.Fatalf("SilenceClip(50ms) lasts %v, want 60ms (whole frames)", gap.Duration())
	}
	for _, v := range gap.ulaw {
		if v != EncodeUlaw(0) {
			t.Fatal("SilenceClip is not silent")
		}
	}
	if SilenceClip(0).Duration() != 0 || SilenceClip(-time.Second).Duration() != 0 {
		t.Fatal("non-positive silence is not empty")
	}
	c := Concat(a, nil, gap, b)
	if c.Duration() != 120*time.Millisecond || c.frames != 6 {
		t.Fatalf("Concat lasts %v (%d frames), want 120ms", c.Duration(), c.frames)
	}
	var gotU, gotA []byte
	for i := range c.frames {
		u, a := c.frame(i)
		gotU, gotA = append(gotU, u...), append(gotA, a...)
	}
	want := append(append(append([]byte(nil), a.alaw...), gap.alaw...), b.alaw...)
	if !bytes.Equal(gotA, want) {
		t.Fatal("Concat's A-law is not the clips end to end")
	}
	want = append(append(append([]byte(nil), a.ulaw...), gap.ulaw...), b.ulaw...)
	if !bytes.Equal(gotU, want) {
		t.Fatal("Concat's µ-law is not the clips end to end")
	}
	if nested := Concat(c, a); nested.frames != 8 || len(nested.parts) != 4 {
		t.Errorf("Concat of a joined clip has %d frames in %d parts, want 8 in 4 (flattened)", nested.frames, len(nested.parts))
	}
	if Concat().Duration() != 0 || Concat(nil).Duration() != 0 {
		t.Fatal("Concat of nothing is not empty")
	}
}

func TestLoadWAVClip(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "prompt.wav")
	// 16 kHz stereo: resampled and downmixed to 8 kHz mono.
	if err := os.WriteFile(good, buildWAV(wavSpec{tag: wavPCM, channels: 2, rate: 16000, bits: 16, data: sinePCM16(440, 16000, 2, 0.5, 8000)}), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadWAVClip(good)
	if err != nil {
		t.Fatal(err)
	}
	if c.Duration() != 500*time.Millisecond {
		t.Fatalf("clip lasts %v, want 500ms", c.Duration())
	}
	pcm := make([]int16, len(c.ulaw))
	for i, b := range c.ulaw {
		pcm[i] = DecodeUlaw(b)
	}
	if r := rms(pcm[800:3200]); r < 4000 || r > 7000 {
		t.Fatalf("clip RMS %.0f, want about 8000/√2", r)
	}
	if _, err := LoadWAVClip(filepath.Join(dir, "missing.wav")); err == nil {
		t.Fatal("missing file loaded")
	}
	bad := filepath.Join(dir, "bad.wav")
	if err := os.WriteFile(bad, []byte("not a wav"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWAVClip(bad); err == nil {
		t.Fatal("garbage loaded as a clip")
	}
}

// bytesToPCM is n samples of a constant level.
func bytesToPCM(n int, level int16) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = level
	}
	return pcm
}
