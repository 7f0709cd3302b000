package sipcore

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A new call's handler runs on the read loop, and one that waits hands the
// socket to a new loop, within bounds: the calls behind it are answered
// meanwhile (on a loop, or past the bounds on the pool), the waiting ones
// are answered when let go, and the loops they held end, leaving one to
// read.
func TestAWaitingHandlerHandsTheSocketOver(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		taken, perSecond     int32
		waiting, wantTakenBy int
	}{
		{"within the bounds", 8, 4, 3, 3},
		{"past the loops a handler may keep", 2, 100, 4, 2},
		{"past the takeovers a second", 100, 2, 4, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oldTaken, oldRate, oldWindow := maxTakenOver, maxTakeoversPerSecond, takeoverWindow
			// An hour's window: the test never sees the count start again.
			maxTakenOver, maxTakeoversPerSecond, takeoverWindow = tc.taken, tc.perSecond, time.Hour
			t.Cleanup(func() { maxTakenOver, maxTakeoversPerSecond, takeoverWindow = oldTaken, oldRate, oldWindow })
			var log syncBuffer
			ep, h, addr := newDoorEndpoint(t, func(c *Config) {
				c.Logger = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelWarn}))
			})
			sc := ep.stamped[0]
			ctx := testCtx(t)
			invite := func(p *rawPeer, target, id string) {
				p.send(addr, testSDP, "INVITE sip:"+target+"@"+addr+" SIP/2.0", p.via(id), "From: <sip:x@127.0.0.1>;tag="+id,
					"To: <sip:"+target+"@"+addr+">", "Call-ID: "+id, "CSeq: 1 INVITE", "Contact: <sip:x@"+p.addr.String()+">",
					"Content-Type: application/sdp")
			}
			held := make([]*rawPeer, tc.waiting)
			for i := range held {
				held[i] = newRawPeer(t, "127.0.0.1")
				invite(held[i], "hold", fmt.Sprintf("held-%d", i))
				held[i].response(ctx, 180, sip.INVITE)
				receive(t, h.ringing, "the held call at its handler")
				if i < tc.wantTakenBy {
					// Each taken over before the next comes: the one after
					// it then finds the bounds as they are.
					waitFor(t, "the held call's loop taken over", func() bool { return sc.inline.takenOver.Load() == int32(i+1) })
				}
			}
			if n := sc.inline.takenOver.Load(); n != int32(tc.wantTakenBy) {
				t.Fatalf("%d loops taken over by waiting handlers, want %d", n, tc.wantTakenBy)
			}

			p := newRawPeer(t, "127.0.0.1")
			invite(p, "park", "behind")
			if res := awaitFinal(t, p, "behind"); res.StatusCode != 200 {
				t.Fatalf("the call behind the held ones: %d, want 200", res.StatusCode)
			}
			receive(t, h.calls, "the call behind")

			close(h.release)
			for i, q := range held {
				if res := awaitFinal(t, q, fmt.Sprintf("held-%d", i)); res.StatusCode != 200 {
					t.Fatalf("held call %d once let go: %d, want 200", i, res.StatusCode)
				}
				receive(t, h.calls, "a held call")
			}
			waitFor(t, "no loop in a handler", func() bool { return sc.inline.takenOver.Load() == 0 })
			// The loops taken over end as their handlers return.
			waitFor(t, "the loops taken over to end", func() bool { return sc.loops.Load() == 1 })
			// And the one left reads.
			invite(p, "park", "after")
			if res := awaitFinal(t, p, "after"); res.StatusCode != 200 {
				t.Fatalf("a call after the loops ended: %d, want 200", res.StatusCode)
			}
			// A loop ended by parkd is nothing to log.
			if out := log.String(); out != "" {
				t.Errorf("logged:\n%s", out)
			}
		})
	}
}
