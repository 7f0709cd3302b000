package media

import (
	"os"
	"testing"
	"time"
)

// TestMain relays every packet however late, unless a test asks for a
// max (withMaxRelayDelay): under -race on a loaded machine a poller can
// stall past the default, and tests that count what crossed a bridge
// would lose packets to it.
func TestMain(m *testing.M) {
	SetMaxRelayDelay(0)
	os.Exit(m.Run())
}

// withMaxRelayDelay sets the process's max relay delay for the rest of t.
// Tests that use it are not parallel: the setting is the process's.
func withMaxRelayDelay(t *testing.T, d time.Duration) {
	was := MaxRelayDelay()
	SetMaxRelayDelay(d)
	t.Cleanup(func() { SetMaxRelayDelay(was) })
}
