package parkd

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media"
)

// bridgeMedia relays audio between two calls parkd has linked. A leg
// that hung up in the moment between the link and the relay (a caller
// who hangs up as soon as the event shows them connected) is ordinary:
// its end (CallEnded) hangs up the leg it was linked to and says who
// left, so here the line is Info and what is still up a moment later is
// hung up as a fallback. Anything else is a fault: both legs are hung up
// at once.
func bridgeMedia(log *slog.Logger, a, b *sipcore.Call) bool {
	err := media.Bridge(a.Media(), b.Media())
	if err == nil {
		return true
	}
	if !errors.Is(err, media.ErrSessionClosed) {
		log.Error("bridging failed", "error", err)
		for _, c := range []*sipcore.Call{a, b} {
			go c.Hangup(context.Background(), "bridge failed")
		}
		return false
	}
	log.Info("a leg hung up before its bridge was set up: hanging up the other")
	go func() {
		// Hanging up here at once raced CallEnded's BYE, and the first
		// BYE's Reason is the one the phone gets.
		ctx, cancel := context.WithTimeout(context.Background(), bridgeFallbackGrace)
		defer cancel()
		for _, c := range []*sipcore.Call{a, b} {
			select {
			case <-c.Done():
			case <-ctx.Done():
			}
		}
		for _, c := range []*sipcore.Call{a, b} {
			go c.Hangup(context.Background(), "bridge failed") // nothing for a call already ending
		}
	}()
	return false
}

// bridgeFallbackGrace is how long a leg left alone by a failed bridge
// waits for the other leg's end to hang it up with the right reason.
const bridgeFallbackGrace = time.Second
