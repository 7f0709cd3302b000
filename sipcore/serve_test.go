package sipcore

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/media"
)

// A daemon binds its sockets before it can hold a call; with DeferServing
// a request sent in between waits in the socket and is answered by Serve,
// not lost and not answered early.
func TestDeferServingAnswersOnlyAfterServe(t *testing.T) {
	rtp, err := media.NewAllocator(netip.MustParseAddr("127.0.0.1"), 41000, 41998)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := NewEndpoint(Config{
		Listen:       []ListenAddr{{"udp", "127.0.0.1:0"}},
		RTP:          rtp,
		Logger:       slog.New(slog.DiscardHandler),
		DeferServing: true,
		Settings:     Settings{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
	}, &statsHandler{ringing: make(chan struct{}, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		ep.Shutdown(ctx)
	})
	to := ep.Addrs()[0].Addr
	peer := newRawPeer(t, "127.0.0.1")
	peer.send(to, "",
		"OPTIONS sip:parkd@"+to+" SIP/2.0",
		peer.via("early1"),
		"Max-Forwards: 70",
		"From: <sip:probe@127.0.0.1>;tag=early",
		"To: <sip:parkd@"+to+">",
		"Call-ID: early-options@127.0.0.1",
		"CSeq: 1 OPTIONS",
	)
	peer.silent(300 * time.Millisecond)

	ep.Serve()
	ep.Serve() // a second call changes nothing
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	peer.response(ctx, 200, "OPTIONS")
	peer.silent(200 * time.Millisecond) // answered once, by one listener
}
