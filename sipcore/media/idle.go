package media

import (
	"sync"
	"time"
)

// idleProbe is how long the watch waits once more when the peer looks
// silent but datagrams are still queued on the socket unread: after the
// process was starved (GC, an overloaded host) lastActivity is stale while
// the peer's packets wait, so they get read first.
const idleProbe = 20 * time.Millisecond

// idleWatch calls a session's onTimeout when its peer has sent nothing
// valid for the timeout. It is one runtime timer per session, moved only
// when it fires (to lastActivity+timeout), so steady traffic costs one
// wake-up per timeout period and an atomic store per packet. Only the
// peer's packets count as activity: junk or an intruder's stream cannot
// keep a call alive.
type idleWatch struct {
	mu        sync.Mutex
	timer     *time.Timer
	onTimeout func()
	probed    bool // the last firing found packets queued and waited idleProbe
	stopped   bool
}

func (w *idleWatch) start(s *Session, timeout time.Duration, onTimeout func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.timer != nil {
		return
	}
	w.onTimeout = onTimeout
	w.timer = time.AfterFunc(timeout, func() { w.check(s) })
}

func (w *idleWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	if w.timer != nil {
		w.timer.Stop()
	}
}

// check runs when the timer fires. While disarmed (after a timeout, until
// ResetTimeout) it keeps firing once per timeout period, so ResetTimeout
// never has to touch the timer.
func (w *idleWatch) check(s *Session) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := s.timeout.Load()
	if w.stopped || t <= 0 {
		return
	}
	idle := monoNow() - s.lastActivity.Load()
	switch {
	case idle < t:
		w.probed = false
		w.timer.Reset(time.Duration(t - idle))
	case !w.probed && s.timeoutArmed.Load() && s.sock.queued():
		w.probed = true
		w.timer.Reset(idleProbe)
	default:
		w.probed = false
		if s.timeoutArmed.CompareAndSwap(true, false) {
			s.log.Info("rtp inactivity timeout", "idle", time.Duration(idle).Round(time.Millisecond))
			go w.onTimeout()
		}
		w.timer.Reset(time.Duration(t))
	}
}
