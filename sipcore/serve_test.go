package sipcore

import (
	"context"
	"testing"
	"time"
)

// A daemon binds its sockets before it can hold a call; with DeferServing
// a request sent in between waits in the socket and is answered by Serve,
// not lost and not answered early.
func TestDeferServingAnswersOnlyAfterServe(t *testing.T) {
	ep, _, to := newDoorEndpoint(t, func(c *Config) { c.DeferServing = true })
	peer := newRawPeer(t, "127.0.0.1")
	peer.options(to, "early-options")
	peer.silent(300 * time.Millisecond)

	ep.Serve()
	ep.Serve() // a second call changes nothing
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	peer.response(ctx, 200, "OPTIONS")
	peer.silent(200 * time.Millisecond) // answered once, by one listener
}
