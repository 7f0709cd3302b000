package sipcore

import (
	"sync"
	"time"
)

// logLimiter lets one log line through per interval and counts the ones
// it holds back, so that a flood of strays or refused requests costs one
// line a minute, not one per packet.
type logLimiter struct {
	every time.Duration

	mu         sync.Mutex
	next       time.Time
	suppressed uint64
}

// allow reports whether a line may be logged now and how many were held
// back since the last one.
func (l *logLimiter) allow(now time.Time) (ok bool, suppressed uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.suppressed++
		return false, 0
	}
	l.next = now.Add(l.every)
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
