package media

import (
	"bufio"
	"fmt"
	"os"
	"time"
)

// Clip is a short recording played once (a spoken prompt, a tone): 8 kHz
// audio encoded in both G.711 laws up front, like a Source, so playing it
// to any peer is a copy per frame. A Clip is immutable and may be played to
// many sessions at once.
type Clip struct {
	ulaw   []byte // a multiple of frameSamples
	alaw   []byte
	frames int
	// parts, when set, are the clips this one plays in turn (Concat):
	// an announcement built per call ("parked on" + digits) shares the
	// prompts' audio instead of copying it. partEnds[k] is the frame
	// after parts[k]'s last.
	parts    []*Clip
	partEnds []int
}

// NewClip makes a clip from 8 kHz mono linear PCM, padded with silence to
// whole 20 ms frames. Empty input gives an empty clip (zero duration).
func NewClip(pcm8k []int16) *Clip {
	frames := (len(pcm8k) + frameSamples - 1) / frameSamples
	n := frames * frameSamples
	c := &Clip{ulaw: make([]byte, n), alaw: make([]byte, n), frames: frames}
	for i := range n {
		var v int16
		if i < len(pcm8k) {
			v = pcm8k[i]
		}
		c.ulaw[i] = EncodeUlaw(v)
		c.alaw[i] = EncodeAlaw(v)
	}
	return c
}

// LoadWAVClip reads a WAV file (anything DecodeWAV accepts; it is resampled
// to 8 kHz mono) as a clip, e.g. a lot's own prompt.
func LoadWAVClip(path string) (*Clip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audio file %q: %w", path, err)
	}
	defer f.Close()
	pcm, err := DecodeWAV(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("audio file %q: %w", path, err)
	}
	return NewClip(pcm), nil
}

// Concat joins clips end to end; nil clips are skipped. Each clip keeps its
// frame padding, so a join may hold up to 20 ms of silence. The result
// refers to the clips' audio rather than copying it.
func Concat(clips ...*Clip) *Clip {
	out := &Clip{}
	var add func(c *Clip)
	add = func(c *Clip) {
		switch {
		case c == nil || c.frames == 0:
		case c.parts != nil:
			for _, p := range c.parts {
				add(p)
			}
		default:
			out.parts = append(out.parts, c)
			out.frames += c.frames
			out.partEnds = append(out.partEnds, out.frames)
		}
	}
	for _, c := range clips {
		add(c)
	}
	if out.parts == nil {
		out.parts = []*Clip{} // empty, but still a joined clip
	}
	return out
}

// SilenceClip is d of silence, rounded up to whole 20 ms frames.
func SilenceClip(d time.Duration) *Clip {
	if d <= 0 {
		return NewClip(nil)
	}
	return NewClip(make([]int16, (int64(d)*sampleRate+int64(time.Second)-1)/int64(time.Second)))
}

// Duration is how long the clip plays: its whole frames. A nil clip is
// empty.
func (c *Clip) Duration() time.Duration {
	if c == nil {
		return 0
	}
	return time.Duration(c.frames) * frameDuration
}

// frame is the i-th 20 ms frame in both laws.
func (c *Clip) frame(i int) (ulaw, alaw []byte) {
	part, start, _ := c.partAt(i)
	return part.ownFrame(i - start)
}

// ownFrame is the j-th frame of c's own audio (c is no joined clip).
func (c *Clip) ownFrame(j int) (ulaw, alaw []byte) {
	off := j * frameSamples
	return c.ulaw[off : off+frameSamples], c.alaw[off : off+frameSamples]
}

// partAt is the recording that holds frame i, and the frames of c it
// plays, [start, end): c itself unless c was joined from parts.
func (c *Clip) partAt(i int) (part *Clip, start, end int) {
	if c.parts == nil {
		return c, 0, c.frames
	}
	for k, end := range c.partEnds {
		if i < end {
			return c.parts[k], start, end
		}
		start = end
	}
	return c, 0, 0 // past the end: callers never ask
}

// PCM is the clip's audio as 8 kHz linear PCM (decoded from its µ-law
// form), padding included: for tests and level meters, not the send path.
func (c *Clip) PCM() []int16 {
	if c == nil {
		return nil
	}
	pcm := make([]int16, 0, c.frames*frameSamples)
	for i := range c.frames {
		ulaw, _ := c.frame(i)
		for _, b := range ulaw {
			pcm = append(pcm, DecodeUlaw(b))
		}
	}
	return pcm
}
