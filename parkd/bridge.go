package parkd

import (
	"context"
	"errors"
	"log/slog"

	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media"
)

// bridgeMedia relays audio between two calls parkd has linked. A leg
// that hung up in the moment between the link and the relay (a caller
// who hangs up as soon as the event shows them connected) is ordinary:
// the other leg is hung up and the line is Info. Anything else is a fault.
func bridgeMedia(log *slog.Logger, a, b *sipcore.Call) bool {
	err := media.Bridge(a.Media(), b.Media())
	if err == nil {
		return true
	}
	if errors.Is(err, media.ErrSessionClosed) {
		log.Info("a leg hung up before its bridge was set up: hanging up the other")
	} else {
		log.Error("bridging failed", "error", err)
	}
	for _, c := range []*sipcore.Call{a, b} {
		go c.Hangup(context.Background(), "bridge failed")
	}
	return false
}
