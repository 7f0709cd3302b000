package parkd_test

import (
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore/siptest"
)

// sip.rate_limit reaches the SIP endpoint: past a source's burst its
// requests get 503 with Retry-After, while its parked call can still hang
// up.
func TestRateLimitFromConfig(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) {
		c.SIP.RateLimit = parkd.RateLimit{PerSource: "1/m", Burst: 3}
	})
	p := siptest.NewPhone(t, "busy")
	call := d.dial(p, "700", 200, siptest.CallOptions{}) // one token
	d.waitEvent(parkd.EventParked, "701")
	var codes []int
	for range 3 {
		res, err := p.Options(ctxFor(t, 3*time.Second), "sip:parkd@"+d.udp)
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, res.StatusCode)
		if res.StatusCode == 503 {
			if ra := res.GetHeader("Retry-After"); ra == nil || ra.Value() != "60" {
				t.Errorf("503 Retry-After %v, want 60 (3 requests at 1/m)", ra)
			}
		}
	}
	if got := codes; len(got) != 3 || got[0] != 200 || got[1] != 200 || got[2] != 503 {
		t.Errorf("OPTIONS past a burst of 3 (1 spent on the call): %v, want [200 200 503]", got)
	}
	if res, err := call.Hangup(ctxFor(t, 3*time.Second)); err != nil || res.StatusCode != 200 {
		t.Fatalf("BYE of the parked call past the limit: %v %v", res, err)
	}
	d.waitEvent(parkd.EventAbandoned, "701")
}
