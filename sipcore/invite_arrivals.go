package sipcore

import (
	"sync"
	"time"
)

// When parkd falls behind, an INVITE's wait is mostly before its handler
// runs: sipgo reads a datagram and it is handed to a goroutine, and under
// load that goroutine waits for a CPU behind thousands of others. The
// pending-INVITE bound only counts INVITEs whose handler started, so it
// cannot see that wait. The read filter, which sees each datagram as it
// is read, notes when every INVITE arrived; the handler answers 503 at
// once to one that waited longer than Settings.MaxInviteWait, before any
// work, rather than park a caller who has been hearing nothing for
// seconds and may already have given up.

// DefaultMaxInviteWait is Settings.MaxInviteWait when left 0: by then the
// caller has retransmitted twice (RFC 3261 Timer A) without a 100.
const DefaultMaxInviteWait = time.Second

// maxInviteArrivals bounds the arrivals remembered. Those of INVITEs that
// never reach the new-INVITE handler (re-INVITEs, retransmissions after
// it) would otherwise stay; past the bound all are forgotten, and the
// INVITEs in flight then count as on time.
const maxInviteArrivals = 8192

// maxNotedBranch is the longest Via branch noted: a branch is a short
// token, and a datagram may carry a 60 KB one to make each entry costly.
// An INVITE with a longer one counts as on time.
const maxNotedBranch = 128

func (s *Settings) maxInviteWait() time.Duration {
	if s.MaxInviteWait > 0 {
		return s.MaxInviteWait
	}
	return DefaultMaxInviteWait
}

// inviteArrivals are the read times of INVITEs not yet handled, by top
// Via branch.
type inviteArrivals struct {
	mu sync.Mutex
	at map[string]time.Time
}

// note records an INVITE's read time; a retransmission keeps the first.
func (a *inviteArrivals) note(branch []byte, now time.Time) {
	if len(branch) == 0 || len(branch) > maxNotedBranch {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.at == nil {
		a.at = make(map[string]time.Time)
	}
	if _, ok := a.at[string(branch)]; ok {
		return
	}
	if len(a.at) >= maxInviteArrivals {
		clear(a.at)
	}
	a.at[string(branch)] = now
}

// take returns and forgets the read time of the INVITE with branch.
func (a *inviteArrivals) take(branch string) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.at[branch]
	if ok {
		delete(a.at, branch)
	}
	return t, ok
}

// noteInvite is the read filter's part: g is an INVITE datagram that
// passed the gate, at when it arrived.
func (ep *Endpoint) noteInvite(g *gated, at time.Time) {
	ep.arrivals.note(g.viaBranch(), at)
}
