package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/parkd/parkd/sipcore/media/prompts"
)

// Lot keys for what callers hear and dial around a park: the announced
// slot of an attended park, the prompts, the courtesy tone and DTMF re-park.
const (
	EmptySlotReject = "reject" // 404, as before prompts existed
	EmptySlotPrompt = "prompt" // answer, say "no call parked here", hang up

	DefaultAttendedTimeout = 15 * time.Second
	minAttendedTimeout     = time.Second
	maxAttendedTimeout     = 5 * time.Minute
	maxParkDTMF            = 8
)

var emptySlotValues = []string{EmptySlotReject, EmptySlotPrompt}

// AnnouncesSlot reports whether a call that parks itself hears its slot
// (unset: yes).
func (l LotConfig) AnnouncesSlot() bool { return l.AnnounceSlot == nil || *l.AnnounceSlot }

// PlaysRecallPrompt reports whether a parked caller hears "your call is being
// returned" when a recall starts ringing (unset: yes).
func (l LotConfig) PlaysRecallPrompt() bool { return l.RecallPrompt == nil || *l.RecallPrompt }

// AttendedTimeoutOrDefault is attended_timeout with 0 read as the default.
func (l LotConfig) AttendedTimeoutOrDefault() time.Duration {
	if l.AttendedTimeout == 0 {
		return DefaultAttendedTimeout
	}
	return l.AttendedTimeout.D()
}

func (l LotConfig) checkTransfer(ck *checker, key string) {
	if d := l.AttendedTimeout.D(); d != 0 && (d < minAttendedTimeout || d > maxAttendedTimeout) {
		ck.add(key+".attended_timeout", "must be between %s and %s (got %s)", Duration(minAttendedTimeout), Duration(maxAttendedTimeout), l.AttendedTimeout)
	}
	if l.EmptySlot != "" {
		checkEnum(ck.add, key+".empty_slot", &l.EmptySlot, emptySlotValues)
	}
	if l.ParkDTMF != "" {
		ck.addErr(key+".park_dtmf", checkDTMFSequence(l.ParkDTMF))
	}
	names := prompts.Names()
	for _, name := range slices.Sorted(maps.Keys(l.Prompts)) {
		k := key + ".prompts." + name
		if !slices.Contains(names, name) {
			ck.add(k, "no such prompt (there are: %s)", strings.Join(names, ", "))
			continue
		}
		path := l.Prompts[name]
		if path == "" {
			ck.add(k, "must name a WAV file")
			continue
		}
		ck.addErr(k, CheckText(path))
	}
}

// checkDTMFSequence accepts what a phone keypad sends as RFC 4733 events.
func checkDTMFSequence(s string) error {
	if len(s) > maxParkDTMF {
		return fmt.Errorf("at most %d digits (got %q)", maxParkDTMF, s)
	}
	for _, r := range strings.ToUpper(s) {
		if !strings.ContainsRune("0123456789*#ABCD", r) {
			return fmt.Errorf("%q is not a keypad digit (0-9, *, #, A-D)", r)
		}
	}
	return nil
}
