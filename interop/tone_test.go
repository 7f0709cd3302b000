package interop

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/parkd/parkd/sipcore/media"
	"github.com/parkd/parkd/sipcore/siptest"
)

// toneShare is the share of the energy of PCMU packets that lies at hz,
// from 0 (none) to about 0.5 for a pure sine (the other half is at -hz):
// how the tests tell the softphone's 440 Hz microphone from music on hold.
// It runs a Goertzel filter over each 20 ms frame.
func toneShare(pkts []siptest.Received, hz float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*hz/8000)
	var atTone, total float64
	for _, p := range pkts {
		if p.PayloadType != 0 || len(p.Payload) == 0 {
			continue
		}
		var s1, s2, energy float64
		for _, b := range p.Payload {
			x := float64(media.DecodeUlaw(b))
			energy += x * x
			s1, s2 = x+coeff*s1-s2, s1
		}
		n := float64(len(p.Payload))
		atTone += (s1*s1 + s2*s2 - coeff*s1*s2) / n
		total += energy
	}
	if total == 0 {
		return 0
	}
	return atTone / total
}

// heardTone is the 440 Hz share of the next half second the phone hears.
func heardTone(t *testing.T, call *siptest.Call) (float64, siptest.Audio) {
	t.Helper()
	call.RTP.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	pkts, err := call.RTP.Collect(ctx, 25, func(p siptest.Received) bool { return p.PayloadType == 0 })
	if err != nil {
		t.Fatalf("the parked phone hears nothing: %v", err)
	}
	share, audio := toneShare(pkts, 440), siptest.Analyse(pkts, "PCMU")
	t.Logf("%s hears %.2f of its energy at 440 Hz, %s of %s voiced", call.CallID(), share, audio.Voiced, audio.Duration)
	return share, audio
}

func TestToneShare(t *testing.T) {
	frames := func(sample func(i int) float64) []siptest.Received {
		var out []siptest.Received
		for f := range 25 {
			payload := make([]byte, 160)
			for i := range payload {
				payload[i] = media.EncodeUlaw(int16(sample(f*160 + i)))
			}
			out = append(out, siptest.Received{Packet: rtp.Packet{Header: rtp.Header{PayloadType: 0}, Payload: payload}})
		}
		return out
	}
	sine := func(hz float64) func(int) float64 {
		return func(i int) float64 { return 8000 * math.Sin(2*math.Pi*hz*float64(i)/8000) }
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name     string
		sample   func(int) float64
		min, max float64
	}{
		{"440 Hz", sine(440), 0.4, 0.6},
		{"1 kHz", sine(1000), 0, 0.05},
		{"noise", func(int) float64 { return 8000 * (rng.Float64() - 0.5) }, 0, 0.05},
		{"silence", func(int) float64 { return 0 }, 0, 0.05},
	} {
		if got := toneShare(frames(tc.sample), 440); got < tc.min || got > tc.max {
			t.Errorf("%s: toneShare at 440 Hz = %.3f, want %.2f-%.2f", tc.name, got, tc.min, tc.max)
		}
	}
}
