package parkd_test

import (
	"math"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/media/prompts"
	"github.com/parkd/parkd/sipcore/siptest"
)

// As a recall starts ringing, the parked caller hears "your call is being
// returned" before its music resumes; recall_prompt: false keeps the music.
func TestRecallPrompt(t *testing.T) {
	r := startRecallRig(t, nil)
	hearsMusic(t, r.parked, "before the recall")
	r.parked.RTP.Drain()
	r.recallDue(45 * time.Second)
	r.waitEvent(parkd.EventRecalling, "701")
	heardSpeechNext(t, r.parked, prompts.Builtin().Clip(prompts.CallReturned).Duration(), "the parked caller as the recall starts")

	off := startRecallRig(t, func(c *parkd.Config, _ *recallRig) { c.Lots[0].RecallPrompt = new(bool) })
	hearsMusic(t, off.parked, "before the recall")
	off.parked.RTP.Drain()
	off.recallDue(45 * time.Second)
	off.waitEvent(parkd.EventRecalling, "701")
	for _, p := range listen(t, off.parked, time.Second) {
		if p.Marker {
			t.Fatal("with recall_prompt: false something new began as the recall started")
		}
	}
}

// courtesy_tone: the retriever hears a short beep, then the parked caller.
func TestCourtesyTone(t *testing.T) {
	r := startBridgeRig(t, func(c *parkd.Config) { c.Lots[0].CourtesyTone = true })
	tone := prompts.CourtesyTone().Duration()
	pkts := listen(t, r.retriever, tone+400*time.Millisecond)
	parts := segments(pkts, r.retriever.RTP.Codec())
	if len(parts) == 0 || parts[0].Duration < tone-60*time.Millisecond || parts[0].Duration > tone+60*time.Millisecond || parts[0].RMS < 500 {
		t.Fatalf("the retriever heard %+v first, want a %v tone", parts, tone)
	}
	r.parked.RTP.Send(make([]byte, 160))
	if _, err := r.retriever.RTP.Collect(ctxFor(t, 3*time.Second), 1, nil); err != nil {
		t.Errorf("after the tone the retriever does not hear the caller: %v", err)
	}
}

// A lot's own WAV replaces a built-in prompt: a retrieve of an empty slot
// plays the lot's 600 ms recording, not the built-in phrase.
func TestLotPromptFromWAV(t *testing.T) {
	tone := make([]int16, 16000*6/10) // 600 ms at 16 kHz
	for i := range tone {
		tone[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/16000))
	}
	path := wav16(t, 16000, tone)
	d := startDaemon(t, func(c *parkd.Config) {
		c.Lots[0].EmptySlot = parkd.EmptySlotPrompt
		c.Lots[0].Prompts = map[string]string{prompts.NoCallParked: path}
	})
	c := d.dial(siptest.NewPhone(t, "carol"), "*700", 200, siptest.CallOptions{})
	heardSpeech(t, c, 600*time.Millisecond, "the lot's own prompt")
}

// A prompt file that cannot be read stops parkd at start with the key.
func TestLotPromptMissingFile(t *testing.T) {
	cfg := parkd.DefaultConfig()
	cfg.Data = t.TempDir()
	cfg.Lots[0].Prompts = map[string]string{prompts.ParkedOn: "/nonexistent/parked.wav"}
	_, err := parkd.New(cfg, testLogger(t))
	if err == nil || !contains(err.Error(), "lots[0].prompts.parked_on") {
		t.Fatalf("New with a missing prompt file: %v, want an error naming lots[0].prompts.parked_on", err)
	}
}
