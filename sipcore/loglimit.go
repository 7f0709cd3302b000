package sipcore

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// What one source may cost in log lines: every line about traffic parkd
// refused or could not parse goes through a logLimiter, so a flood writes
// one line per source a minute instead of one per packet.
const (
	logEvery      = time.Minute
	logMaxSources = 4096 // sources remembered at once; beyond, they share one line
	logClip       = 200  // bytes of a peer's text a log line quotes
)

// overflowKey is where sources go once logMaxSources are remembered: a
// spoofed-source flood then costs one line a minute in all.
const overflowKey = "other sources"

// logLimiter lets one line per key (a source IP) through per interval and
// counts the rest; the next line let through carries that count.
type logLimiter struct {
	every time.Duration
	max   int
	now   func() time.Time

	mu   sync.Mutex
	keys map[string]*limitState
	// noSweepBefore is the earliest window's end at the last sweep that
	// freed nothing: before it no key can be forgotten, and a flood of
	// new sources into a full table would otherwise walk the whole table
	// for each of them, under mu, while every stray's goroutine queued
	// behind it (a hundred thousand spoofed sources piled up 60,000
	// goroutines, whose memory the runtime never gives back).
	noSweepBefore time.Time
	sweeps        int // tests
}

type limitState struct {
	next       time.Time // no line before this
	suppressed int       // lines held back since the last one
}

func newLogLimiter(every time.Duration, max int) *logLimiter {
	return &logLimiter{every: every, max: max, now: time.Now, keys: map[string]*limitState{}}
}

// allow reports whether a line for key may be written now and, if so, how
// many were held back since the previous one.
func (l *logLimiter) allow(key string) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	st, known := l.keys[key]
	if !known {
		if len(l.keys) >= l.max && !now.Before(l.noSweepBefore) {
			l.forgetQuietLocked(now)
		}
		if len(l.keys) >= l.max {
			key = overflowKey
			st = l.keys[key]
		}
		if st == nil {
			st = &limitState{}
			l.keys[key] = st
		}
	}
	if now.Before(st.next) {
		st.suppressed++
		return false, 0
	}
	suppressed, st.suppressed = st.suppressed, 0
	st.next = now.Add(l.every)
	return true, suppressed
}

// forgetQuietLocked drops the sources whose window has passed with nothing
// held back: remembering them changes nothing. Callers hold l.mu.
func (l *logLimiter) forgetQuietLocked(now time.Time) {
	l.sweeps++
	for k, st := range l.keys {
		if !now.Before(st.next) && st.suppressed == 0 && k != overflowKey {
			delete(l.keys, k)
		}
	}
	if len(l.keys) < l.max {
		return
	}
	// Still full of sources that keep sending: those whose window has
	// passed lose their count rather than grow the table.
	var earliest time.Time
	for k, st := range l.keys {
		if k == overflowKey {
			continue
		}
		if !now.Before(st.next) {
			delete(l.keys, k)
		} else if earliest.IsZero() || st.next.Before(earliest) {
			earliest = st.next
		}
	}
	if len(l.keys) >= l.max {
		l.noSweepBefore = earliest // every window is current until then
	}
}

// len is how many keys are remembered (tests).
func (l *logLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// clip makes a peer's text safe to log: at most logClip bytes, every
// control byte shown as its Unicode control picture (CR LF as ␍␊), and
// invalid UTF-8 and other unprintable runes (bidi overrides) as U+FFFD, so
// a line stays one line and a terminal shows what was sent instead of
// obeying it. Log handlers then have nothing left to escape but quotes.
func clip(s string) string {
	cut := len(s) > logClip
	if cut {
		s = s[:logClip]
	}
	if !cut && printable(s) {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r < 0x20:
			b = utf8.AppendRune(b, 0x2400+r) // ␀ … ␟
		case r == 0x7f:
			b = utf8.AppendRune(b, '\u2421') // ␡
		case r == utf8.RuneError && size <= 1, !strconv.IsPrint(r):
			b = utf8.AppendRune(b, utf8.RuneError)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	if cut {
		b = append(b, "…"...)
	}
	return string(b)
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}
