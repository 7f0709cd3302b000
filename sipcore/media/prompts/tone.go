package prompts

import (
	"math"
	"sync"

	"github.com/parkd/parkd/sipcore/media"
)

// CourtesyTone is a short chime (about 250 ms) played to whoever picks up
// a parked call, so they know the call is through before anyone speaks.
// Two soft notes a fifth apart (E5 then B5) with plucked envelopes, kept
// in the band a telephone carries and below speech level.
func CourtesyTone() *media.Clip { return courtesyTone() }

var courtesyTone = sync.OnceValue(func() *media.Clip {
	const (
		rate     = 8000
		length   = 0.26 // seconds
		second   = 0.09 // when the second note starts
		peakDBFS = -10.0
	)
	n := int(length * rate)
	mix := make([]float64, n)
	note := func(start, freq float64) {
		for i := int(start * rate); i < n; i++ {
			t := float64(i)/rate - start
			env := math.Min(t/0.005, 1) * math.Exp(-t/0.07)
			ph := 2 * math.Pi * freq * t
			mix[i] += env * (math.Sin(ph) + 0.2*math.Sin(2*ph))
		}
	}
	note(0, 659.25)
	note(second, 987.77)
	// A 10 ms fade at the end so the clip does not stop with a click.
	for i := range 80 {
		mix[n-1-i] *= float64(i) / 80
	}
	peak := 0.0
	for _, v := range mix {
		peak = math.Max(peak, math.Abs(v))
	}
	scale := math.Pow(10, peakDBFS/20) * math.MaxInt16 / peak
	pcm := make([]int16, n)
	for i, v := range mix {
		pcm[i] = int16(math.Round(v * scale))
	}
	return media.NewClip(pcm)
})
