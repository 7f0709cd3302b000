package media

import (
	"sync"
	"time"
)

// The relay's lag is how long a bridged call's packet waited in parkd's
// socket before the relay read it: the delay parkd adds to what the
// callers hear. Once parkd falls behind (its core full, the host busy),
// it grows to hundreds of milliseconds while calls still connect
// (docs/PERFORMANCE.md, twenty-second pass), so it is sampled and shown.
// A sample is the kernel's arrival stamp of a packet the relay has just
// read, one every lagProbeEvery per poller: a system call ten times a
// second, where stamping every packet would cost on each.

// lagProbeEvery is how often each poller samples its lag.
const lagProbeEvery = 100 * time.Millisecond

// lagWindowLen is how long a sample counts towards RelayLag.
const lagWindowLen = time.Second

// maxLag bounds a sample: a wall-clock step between the kernel's stamp
// and the reading of it must not show as hours of lag.
const maxLag = 10 * time.Second

var relayLag lagWindow

// RelayLag is the longest lag sampled over about the last second (the
// current window and the one before it), 0 when nothing was relayed.
func RelayLag() time.Duration { return relayLag.worst(time.Now()) }

// lagWindow keeps the worst sample of the current window of lagWindowLen
// and of the one before it.
type lagWindow struct {
	mu        sync.Mutex
	start     time.Time // of the current window
	cur, prev time.Duration
}

// note records a sample taken at now.
func (w *lagWindow) note(now time.Time, lag time.Duration) {
	lag = min(max(lag, 0), maxLag)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rollLocked(now)
	w.cur = max(w.cur, lag)
}

// reset forgets every sample.
func (w *lagWindow) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.start, w.cur, w.prev = time.Time{}, 0, 0
}

func (w *lagWindow) worst(now time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rollLocked(now)
	return max(w.cur, w.prev)
}

// rollLocked starts a new window when the current one is over; a window
// with no sample in it leaves 0 behind.
func (w *lagWindow) rollLocked(now time.Time) {
	switch since := now.Sub(w.start); {
	case since < lagWindowLen:
	case since < 2*lagWindowLen:
		w.start, w.prev, w.cur = w.start.Add(lagWindowLen), w.cur, 0
	default:
		w.start, w.prev, w.cur = now, 0, 0
	}
}
