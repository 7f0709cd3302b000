package sipcore

import (
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Reconfigure applies to the next request: a rate limit switched on sheds
// a flood, the same limit again keeps the source's emptied bucket, and a
// source taken out of sip.allow is no longer served.
func TestReconfigureAppliesAtOnce(t *testing.T) {
	ep, _, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	flooder := newRawPeer(t, "127.0.0.2")
	other := newRawPeer(t, "127.0.0.1")
	// flood sends n OPTIONS and counts the answers, waiting for answered
	// of them (the rest are dropped unanswered).
	flood := func(round string, n, answered int) map[int]int {
		for i := range n {
			flooder.options(addr, round+string(rune('a'+i)))
		}
		return counts(flooder.collect(answered, 200*time.Millisecond))
	}

	if got := flood("open", 12, 12); got[200] != 12 {
		t.Fatalf("12 OPTIONS without a rate limit: %v, want 12×200", got)
	}

	settings := ep.cfg.Settings
	settings.RateLimit = RateLimit{PerSecond: 1, Burst: 5}
	ep.Reconfigure(settings)
	if got := flood("limited", 12, 10); got[200] != 5 || got[503] != 5 {
		t.Fatalf("12 OPTIONS after a limit of 5 was switched on: %v, want 5×200 and 5×503", got)
	}
	ep.Reconfigure(settings) // unchanged: the emptied bucket stays as it was
	// A fresh bucket would serve all 5; the old one has refilled a token
	// or two at most (one a second) since the flood.
	if got := flood("again", 5, 0); got[200] > 2 {
		t.Errorf("an unchanged rate limit gave the flooder a fresh bucket: %v", got)
	}

	settings.RateLimit = RateLimit{}
	settings.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	ep.Reconfigure(settings)
	if got := flood("refused", 3, 0); got[200] != 0 {
		t.Errorf("a source taken out of sip.allow was served: %v", got)
	}
	other.options(addr, "still-allowed")
	other.response(ctx, 200, sip.OPTIONS)
}
