package prompts

import (
	"embed"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parkd/parkd/sipcore/media"
)

// Prompt names. The digits' names are "0" to "9".
const (
	ParkedOn     = "parked_on"
	SlotOccupied = "slot_occupied"
	NoCallParked = "no_call_parked"
	CallReturned = "call_returned"
	PleaseHold   = "please_hold"
)

// digitGap is the pause between the digits of a spoken number, and between
// a phrase and the number after it: short enough to sound like one number,
// long enough to hear "7 0 3" rather than "703".
const digitGap = 120 * time.Millisecond

var phrases = []string{ParkedOn, SlotOccupied, NoCallParked, CallReturned, PleaseHold}

// Names is every prompt name, digits included, sorted.
func Names() []string {
	names := append([]string(nil), phrases...)
	for d := '0'; d <= '9'; d++ {
		names = append(names, string(d))
	}
	slices.Sort(names)
	return names
}

func known(name string) bool { return slices.Contains(Names(), name) }

// Set is one complete set of prompts. It is immutable: With returns a
// modified copy, so a Set may be shared by every call of a lot.
type Set struct {
	clips map[string]*media.Clip
}

//go:embed assets/*.ul
var assets embed.FS

// Builtin is the set embedded in the binary (see the package doc for how
// it was made). It is decoded once and shared.
func Builtin() *Set { return builtin() }

var builtin = sync.OnceValue(func() *Set {
	s := &Set{clips: make(map[string]*media.Clip)}
	for _, name := range Names() {
		ulaw, err := assets.ReadFile("assets/" + name + ".ul")
		if err != nil {
			panic(fmt.Sprintf("prompts: built-in prompt %q missing: %v", name, err))
		}
		pcm := make([]int16, len(ulaw))
		for i, b := range ulaw {
			pcm[i] = media.DecodeUlaw(b)
		}
		s.clips[name] = media.NewClip(pcm)
	}
	return s
})

// With returns a copy of s with prompt name replaced by c (say, a lot's own
// recording from media.LoadWAVClip). An unknown name is an error that lists
// the names there are.
func (s *Set) With(name string, c *media.Clip) (*Set, error) {
	if !known(name) {
		return nil, fmt.Errorf("unknown prompt %q; prompts are %s", name, strings.Join(Names(), ", "))
	}
	if c == nil {
		return nil, fmt.Errorf("prompt %q: no audio", name)
	}
	next := &Set{clips: make(map[string]*media.Clip, len(s.clips))}
	for k, v := range s.clips {
		next.clips[k] = v
	}
	next.clips[name] = c
	return next, nil
}

// Clip is the prompt called name, or nil for a name that is not one
// (media.Concat skips nil clips and Session.Play of nil plays nothing).
func (s *Set) Clip(name string) *media.Clip { return s.clips[name] }

// Number speaks n digit by digit ("703": seven, zero, three) with a short
// pause between digits. Anything but ASCII digits is skipped, so a slot
// named "P-703" is read as 703; no digits give an empty clip.
func (s *Set) Number(n string) *media.Clip {
	var parts []*media.Clip
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			continue
		}
		if len(parts) > 0 {
			parts = append(parts, gap())
		}
		parts = append(parts, s.clips[n[i:i+1]])
	}
	return media.Concat(parts...)
}

// ParkedOn is the attended-park announcement: "parked on" and the slot's
// number.
func (s *Set) ParkedOn(slot string) *media.Clip {
	return media.Concat(s.clips[ParkedOn], gap(), s.Number(slot))
}

var gap = sync.OnceValue(func() *media.Clip { return media.SilenceClip(digitGap) })
