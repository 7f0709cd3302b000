package parkd_test

import (
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/siptest"
)

// listen collects what a phone hears for d.
func listen(t *testing.T, c *siptest.Call, d time.Duration) []siptest.Received {
	t.Helper()
	var got []siptest.Received
	ctx := ctxFor(t, d)
	for {
		p, err := c.RTP.Next(ctx)
		if err != nil {
			return got
		}
		got = append(got, p)
	}
}

// segments splits received audio where the marker bit says a new source
// began (a prompt, then music on hold), and returns each part's audio.
func segments(pkts []siptest.Received, codec string) []siptest.Audio {
	var out []siptest.Audio
	start := 0
	for i := 1; i <= len(pkts); i++ {
		if i == len(pkts) || pkts[i].Marker {
			out = append(out, siptest.Analyse(pkts[start:i], codec))
			start = i
		}
	}
	return out
}

// heardSpeech fails unless the first part of what c heard (up to the next
// marker) lasts about want and carries voice, not silence.
func heardSpeech(t *testing.T, c *siptest.Call, want time.Duration, what string) {
	t.Helper()
	isSpeech(t, segments(listen(t, c, want+1500*time.Millisecond), c.RTP.Codec()), want, 0, what)
}

// heardSpeechNext skips what c hears until something new starts (a marker
// packet), then checks that part as heardSpeech does. Drain c.RTP before
// whatever starts the new sound.
func heardSpeechNext(t *testing.T, c *siptest.Call, want time.Duration, what string) {
	t.Helper()
	if _, err := c.RTP.Collect(ctxFor(t, 5*time.Second), 1, func(p siptest.Received) bool { return p.Marker }); err != nil {
		t.Fatalf("%s: nothing new began: %v", what, err)
	}
	// The marker packet itself was consumed: the part may be a frame short.
	isSpeech(t, segments(listen(t, c, want+time.Second), c.RTP.Codec()), want, 50*time.Millisecond, what)
}

// isSpeech checks that the first of parts lasts want (give or take 200 ms,
// and short more) and is mostly voiced.
func isSpeech(t *testing.T, parts []siptest.Audio, want, short time.Duration, what string) {
	t.Helper()
	if len(parts) == 0 {
		t.Fatalf("%s: nothing heard", what)
	}
	first := parts[0]
	if first.Duration < want-200*time.Millisecond-short || first.Duration > want+200*time.Millisecond {
		t.Errorf("%s: the sound lasted %v, want about %v (the prompt); parts heard: %+v", what, first.Duration, want, parts)
	}
	if first.Voiced < want/3 {
		t.Errorf("%s: only %v of %v was voiced (RMS %.0f): that is not speech", what, first.Voiced, first.Duration, first.RMS)
	}
}
