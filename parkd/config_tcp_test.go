package parkd

import (
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore"
)

// sip.tcp.idle_timeout 0 means never in the config, while a zero
// sipcore.TCPLimits.IdleTimeout takes sipcore's default.
func TestTCPIdleTimeoutReachesSipcore(t *testing.T) {
	for _, tc := range []struct {
		idle Duration
		want time.Duration
	}{
		{Duration(5 * time.Minute), 5 * time.Minute},
		{Duration(30 * time.Second), 30 * time.Second},
		{0, sipcore.NoIdleTimeout},
	} {
		if got := endpointIdleTimeout(TCPLimits{IdleTimeout: tc.idle}); got != tc.want {
			t.Errorf("idle_timeout %s: sipcore gets %s, want %s", tc.idle, got, tc.want)
		}
	}
}
