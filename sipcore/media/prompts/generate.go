//go:build ignore

// generate.go renders parkd's built-in prompts with espeak-ng into
// assets/<name>.ul (raw 8 kHz G.711 µ-law, no header). Run it with
// `go generate ./sipcore/media/prompts` (see doc.go); it needs espeak-ng on
// PATH (Debian: apt-get install espeak-ng) and nothing else: the WAV is
// read and resampled by media.DecodeWAV and encoded by media.EncodeUlaw.
package main

import (
	"bytes"
	"fmt"
	"log"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parkd/parkd/sipcore/media"
)

// What each prompt says. Names must match prompts.Names(); the package's
// tests fail if an asset is missing.
var texts = map[string]string{
	"parked_on":      "parked on",
	"slot_occupied":  "slot is occupied",
	"no_call_parked": "no call parked here",
	"call_returned":  "your call is being returned",
	"please_hold":    "please hold",
	"0":              "zero",
	"1":              "one",
	"2":              "two",
	"3":              "three",
	"4":              "four",
	"5":              "five",
	"6":              "six",
	"7":              "seven",
	"8":              "eight",
	"9":              "nine",
}

// A fixed voice and speed, so regenerating gives the same prompts.
var espeakArgs = []string{"-v", "en-us", "-s", "150", "-a", "100"}

const (
	rate        = 8000
	window      = rate / 100 // 10 ms: the unit of the silence trim
	margin      = 2          // windows of lead-in/tail kept around the speech
	fadeSamples = rate / 200 // 5 ms fades so the trimmed edges do not click
	// Active speech is brought to this RMS level, so prompts recorded
	// separately sound equally loud next to each other...
	targetRMSdBFS = -18.0
	// ...unless that would push a peak past this.
	peakLimitdBFS = -1.0
)

func main() {
	log.SetFlags(0)
	out, err := exec.Command("espeak-ng", "--version").Output()
	if err != nil {
		log.Fatalf("espeak-ng not found (apt-get install espeak-ng): %v", err)
	}
	log.Printf("using %s", bytes.TrimSpace(out))
	tmp, err := os.MkdirTemp("", "parkd-prompts")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	total := 0
	for _, name := range slices.Sorted(maps.Keys(texts)) {
		text := texts[name]
		pcm, err := speak(tmp, text)
		if err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		pcm = normalise(trim(pcm))
		ulaw := make([]byte, len(pcm))
		for i, v := range pcm {
			ulaw[i] = media.EncodeUlaw(v)
		}
		if err := os.WriteFile(filepath.Join("assets", name+".ul"), ulaw, 0o644); err != nil {
			log.Fatal(err)
		}
		total += len(ulaw)
		log.Printf("%-15s %-30q %5d ms", name, text, len(pcm)*1000/rate)
	}
	log.Printf("%d prompts, %d bytes", len(texts), total)
}

// speak renders text to a WAV file (-w writes real chunk sizes; --stdout
// leaves them unknown) and decodes it to 8 kHz.
func speak(dir, text string) ([]int16, error) {
	wav := filepath.Join(dir, "out.wav")
	args := append(append([]string{}, espeakArgs...), "-w", wav, text)
	cmd := exec.Command("espeak-ng", args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("espeak-ng %s: %w", strings.Join(args, " "), err)
	}
	f, err := os.Open(wav)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return media.DecodeWAV(f)
}

// trim cuts leading and trailing silence: everything outside the first
// and last 10 ms window within 30 dB of the loudest one, plus a margin.
func trim(pcm []int16) []int16 {
	levels := windowRMS(pcm)
	loudest := 0.0
	for _, l := range levels {
		loudest = max(loudest, l)
	}
	threshold := loudest * math.Pow(10, -30.0/20)
	first, last := -1, -1
	for i, l := range levels {
		if l >= threshold {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		log.Fatal("espeak-ng produced silence")
	}
	lo := max(0, first-margin) * window
	hi := min(len(pcm), (last+1+margin)*window)
	out := append([]int16(nil), pcm[lo:hi]...)
	for i := range min(fadeSamples, len(out)/2) {
		g := float64(i) / fadeSamples
		out[i] = int16(float64(out[i]) * g)
		out[len(out)-1-i] = int16(float64(out[len(out)-1-i]) * g)
	}
	return out
}

// normalise scales pcm so its speech (windows within 30 dB of the loudest)
// has the target RMS, limited so no peak exceeds the peak limit.
func normalise(pcm []int16) []int16 {
	levels := windowRMS(pcm)
	loudest := 0.0
	for _, l := range levels {
		loudest = max(loudest, l)
	}
	var sum float64
	var n int
	for _, l := range levels {
		if l >= loudest*math.Pow(10, -30.0/20) {
			sum += l * l
			n++
		}
	}
	speechRMS := math.Sqrt(sum / float64(n))
	peak := 0.0
	for _, v := range pcm {
		peak = max(peak, math.Abs(float64(v)))
	}
	gain := dbfs(targetRMSdBFS) / speechRMS
	gain = min(gain, dbfs(peakLimitdBFS)/peak)
	out := make([]int16, len(pcm))
	for i, v := range pcm {
		out[i] = int16(math.Round(float64(v) * gain))
	}
	return out
}

func windowRMS(pcm []int16) []float64 {
	var levels []float64
	for lo := 0; lo < len(pcm); lo += window {
		w := pcm[lo:min(lo+window, len(pcm))]
		var sum float64
		for _, v := range w {
			sum += float64(v) * float64(v)
		}
		levels = append(levels, math.Sqrt(sum/float64(len(w))))
	}
	return levels
}

// dbfs is the linear 16-bit level of a dBFS value.
func dbfs(db float64) float64 { return math.Pow(10, db/20) * math.MaxInt16 }
