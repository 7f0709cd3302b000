package media

import (
	"math"
	"sync"
)

// NewBuiltinSource returns a source playing parkd's built-in hold music, so
// parking works with no files configured. Each call returns an independent
// source (own listeners, own ticker); the audio is synthesized once.
func NewBuiltinSource() *Source {
	return NewSourceFromPCM("builtin", builtinMusic())
}

// builtinMusic is an 8-second loop: a I–vi–IV–V progression in C major
// (C, Am, F, G), two seconds per chord, with a soft sustained pad and a
// plucked eighth-note arpeggio on top. It is kept in 250–2500 Hz, the part
// of the spectrum a telephone actually carries, and peaks at -12 dBFS so it
// sits below speech level.
var builtinMusic = sync.OnceValue(func() []int16 {
	const (
		chordSeconds = 2.0
		noteSeconds  = 0.25 // eighth notes at 120 bpm
		peakDBFS     = -12.0
	)
	// MIDI note numbers: root, third, fifth, octave of each chord.
	chords := [][4]int{
		{72, 76, 79, 84}, // C
		{69, 72, 76, 81}, // Am
		{65, 69, 72, 77}, // F
		{67, 71, 74, 79}, // G
	}
	arpeggio := [...]int{0, 1, 2, 3, 2, 1, 2, 1}

	n := int(float64(len(chords)) * chordSeconds * sampleRate)
	mix := make([]float64, n)
	// add mixes a tone into the loop, wrapping tails around the end so the
	// loop point is seamless.
	add := func(startSec, lenSec, freq, amp float64, env func(t float64) float64) {
		start := int(startSec * sampleRate)
		for i := range int(lenSec * sampleRate) {
			t := float64(i) / sampleRate
			ph := 2 * math.Pi * freq * t
			// A little 2nd and 3rd harmonic makes it sound like an
			// instrument rather than a test tone.
			v := math.Sin(ph) + 0.25*math.Sin(2*ph) + 0.08*math.Sin(3*ph)
			mix[(start+i)%n] += amp * env(t) * v
		}
	}
	pluck := func(t float64) float64 {
		const attack = 0.008
		if t < attack {
			return t / attack
		}
		return math.Exp(-(t - attack) / 0.3)
	}
	padLen := chordSeconds + 0.15 // overlaps the next chord: a short crossfade
	pad := func(t float64) float64 {
		const fade = 0.15
		switch {
		case t < fade:
			return t / fade
		case t > padLen-fade:
			return (padLen - t) / fade
		}
		return 1
	}
	for c, chord := range chords {
		chordStart := float64(c) * chordSeconds
		for _, note := range chord[:3] { // pad: the triad an octave down
			add(chordStart, padLen, midiFreq(note-12), 0.12, pad)
		}
		for i, idx := range arpeggio {
			add(chordStart+float64(i)*noteSeconds, 1.2, midiFreq(chord[idx]), 0.5, pluck)
		}
	}

	peak := 0.0
	for _, v := range mix {
		peak = max(peak, math.Abs(v))
	}
	scale := math.Pow(10, peakDBFS/20) * math.MaxInt16 / peak
	pcm := make([]int16, n)
	for i, v := range mix {
		pcm[i] = int16(math.Round(v * scale))
	}
	return pcm
})

func midiFreq(note int) float64 { return 440 * math.Pow(2, float64(note-69)/12) }
