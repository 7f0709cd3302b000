package clienttest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/media"
	"github.com/parkd/parkd/sipcore/siptest"
)

// AssertAudio sends a ramp no music frame matches from one phone's call
// and fails the test unless it arrives at the other's, transcoded when
// their codecs differ: proof that the two calls are bridged.
func AssertAudio(t testing.TB, from, to *siptest.Call) {
	t.Helper()
	frame := make([]byte, 160)
	for i := range frame {
		frame[i] = byte(0x10 + i%0x60)
	}
	want := frame
	if from.RTP.Codec() != to.RTP.Codec() {
		want = make([]byte, len(frame))
		for i, b := range frame {
			if from.RTP.Codec() == "PCMU" {
				want[i] = media.UlawToAlaw(b)
			} else {
				want[i] = media.AlawToUlaw(b)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	from.RTP.SendStream(ctx, frame, 50)
	if _, err := to.RTP.Collect(ctx, 5, func(p siptest.Received) bool { return bytes.Equal(p.Payload, want) }); err != nil {
		t.Fatalf("%s -> %s audio: %v", from.RTP.Codec(), to.RTP.Codec(), err)
	}
}

// AssertMusic fails the test unless the call hears a steady stream of
// 20 ms G.711 frames (music on hold).
func AssertMusic(t testing.TB, c *siptest.Call) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	pkts, err := c.RTP.Collect(ctx, 10, nil)
	if err != nil {
		t.Fatalf("music on hold: %v", err)
	}
	for i, p := range pkts {
		if len(p.Payload) != 160 || (p.PayloadType != 0 && p.PayloadType != 8) {
			t.Fatalf("MOH packet %d: pt %d, %d bytes; want G.711, 160 bytes", i, p.PayloadType, len(p.Payload))
		}
	}
}
