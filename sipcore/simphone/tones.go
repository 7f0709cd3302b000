package simphone

import (
	"math"
	"time"
)

const sampleRate = 8000

// jingle renders a person's signature sound: its notes (MIDI numbers)
// plucked one after another, noteLen each, then a rest, as 8 kHz linear
// PCM peaking at -12 dBFS. It loops seamlessly, so a bridged call carries
// a sound the listener can tell apart from hold music and from the other
// people of the town.
func jingle(notes []int, noteLen, rest time.Duration) []int16 {
	per := int(noteLen.Seconds() * sampleRate)
	n := per*len(notes) + int(rest.Seconds()*sampleRate)
	mix := make([]float64, n)
	for k, note := range notes {
		f := 440 * math.Pow(2, float64(note-69)/12)
		start := k * per
		// Ring a little past the note, into the next one or the rest,
		// wrapping around so the loop point clicks no more than a note does.
		for i := range per * 2 {
			t := float64(i) / sampleRate
			env := math.Exp(-t / (noteLen.Seconds() * 0.6))
			if i < 40 { // a 5 ms attack, no click
				env *= float64(i) / 40
			}
			ph := 2 * math.Pi * f * t
			mix[(start+i)%n] += env * (math.Sin(ph) + 0.3*math.Sin(2*ph) + 0.1*math.Sin(3*ph))
		}
	}
	peak := 0.0
	for _, v := range mix {
		peak = max(peak, math.Abs(v))
	}
	scale := 0.0
	if peak > 0 {
		scale = math.Pow(10, -12.0/20) * math.MaxInt16 / peak
	}
	pcm := make([]int16, n)
	for i, v := range mix {
		pcm[i] = int16(math.Round(v * scale))
	}
	return pcm
}
