package prompts

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/media"
)

func rmsDBFS(pcm []int16) float64 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return 20 * math.Log10(math.Sqrt(sum/float64(len(pcm)))/math.MaxInt16)
}

func TestNames(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) || len(names) != 15 {
		t.Fatalf("Names() = %v", names)
	}
	for _, want := range []string{ParkedOn, SlotOccupied, NoCallParked, CallReturned, PleaseHold, "0", "9"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() lacks %q", want)
		}
	}
	names[0] = "changed"
	if Names()[0] == "changed" {
		t.Error("Names() shares its slice")
	}
}

// Every built-in prompt is there, lasts as long as the words take, and is
// speech rather than silence.
func TestBuiltinPromptsAreSpeech(t *testing.T) {
	set := Builtin()
	for _, name := range Names() {
		c := set.Clip(name)
		if c == nil {
			t.Errorf("%s: no clip", name)
			continue
		}
		lo, hi := 500*time.Millisecond, 3*time.Second
		if len(name) == 1 {
			lo, hi = 200*time.Millisecond, time.Second
		}
		if d := c.Duration(); d < lo || d > hi {
			t.Errorf("%s: lasts %v, want %v to %v", name, d, lo, hi)
		}
		// Normalised to -18 dBFS over the speech; pauses and edges bring
		// the whole clip's RMS down a little, silence would be far below.
		if db := rmsDBFS(c.PCM()); db < -28 || db > -12 {
			t.Errorf("%s: RMS %.1f dBFS, want speech at about -18", name, db)
		}
	}
	if Builtin() != set {
		t.Error("Builtin() decodes its assets again")
	}
	var total int
	entries, _ := assets.ReadDir("assets")
	for _, e := range entries {
		info, _ := e.Info()
		total += int(info.Size())
	}
	if len(entries) != len(Names()) || total > 200<<10 {
		t.Errorf("%d assets, %d bytes", len(entries), total)
	}
}

func TestWith(t *testing.T) {
	base := Builtin()
	mine := media.NewClip(make([]int16, 8000))
	set, err := base.With(PleaseHold, mine)
	if err != nil {
		t.Fatal(err)
	}
	if set.Clip(PleaseHold) != mine || set.Clip(ParkedOn) != base.Clip(ParkedOn) {
		t.Fatal("With did not replace exactly the one prompt")
	}
	if base.Clip(PleaseHold) == mine {
		t.Fatal("With changed the set it was called on")
	}
	_, err = base.With("parked-on", mine)
	if err == nil || !strings.Contains(err.Error(), `"parked-on"`) || !strings.Contains(err.Error(), "parked_on, please_hold, slot_occupied") {
		t.Fatalf("unknown name: err = %v, want one naming it and listing the names", err)
	}
	if _, err := base.With(PleaseHold, nil); err == nil {
		t.Fatal("With accepted a nil clip")
	}
	if set.Clip("nope") != nil {
		t.Fatal("Clip of an unknown name is not nil")
	}
}

func TestNumber(t *testing.T) {
	set := Builtin()
	digits := func(ds ...string) time.Duration {
		var d time.Duration
		for i, name := range ds {
			if i > 0 {
				d += digitGap
			}
			d += set.Clip(name).Duration()
		}
		return d
	}
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"703", digits("7", "0", "3")},
		{"P-7 0#3x", digits("7", "0", "3")},
		{"5", digits("5")},
		{"", 0},
		{"*#abc", 0},
		{"٣", 0}, // a non-ASCII digit is not read
	}
	for _, tc := range cases {
		if got := set.Number(tc.in).Duration(); got != tc.want {
			t.Errorf("Number(%q) lasts %v, want %v", tc.in, got, tc.want)
		}
	}
	// The digits are the digits' clips, in order.
	seven, zero := set.Clip("7").PCM(), set.Clip("0").PCM()
	got := set.Number("70").PCM()
	if !slices.Equal(got[:len(seven)], seven) || !slices.Equal(got[len(got)-len(zero):], zero) {
		t.Fatal("Number(\"70\") is not seven then zero")
	}

	parked := set.ParkedOn("703")
	if want := set.Clip(ParkedOn).Duration() + digitGap + digits("7", "0", "3"); parked.Duration() != want {
		t.Fatalf("ParkedOn(703) lasts %v, want %v", parked.Duration(), want)
	}
}

func TestCourtesyTone(t *testing.T) {
	c := CourtesyTone()
	if d := c.Duration(); d < 200*time.Millisecond || d > 300*time.Millisecond {
		t.Fatalf("tone lasts %v", d)
	}
	pcm := c.PCM()
	if db := rmsDBFS(pcm); db < -30 || db > -10 {
		t.Fatalf("tone RMS %.1f dBFS", db)
	}
	peak := 0
	for _, v := range pcm {
		peak = max(peak, int(math.Abs(float64(v))))
	}
	if peak >= math.MaxInt16*9/10 {
		t.Fatalf("tone peaks at %d: too loud", peak)
	}
}
