package sipcore

import (
	"net/netip"
	"sync"
	"time"
)

// verdict is what the rate limiter says of one request.
type verdict uint8

const (
	admit verdict = iota // within the source's rate
	shed                 // past it: answer 503 with Retry-After
	drop                 // far past it: answer nothing, so a flood costs no packets either
)

// maxTrackedSources bounds the sources the limiter remembers; past it,
// sources it cannot track share one bucket (a flood from spoofed
// addresses then limits itself, and costs a few MB at most).
const maxTrackedSources = 16384

// bucket is a token bucket: rate tokens a second, at most burst.
type bucket struct {
	tokens float64
	at     time.Time
}

func (b *bucket) refill(now time.Time, rate, burst float64) {
	if b.at.IsZero() {
		b.tokens, b.at = burst, now
		return
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(burst, b.tokens+d.Seconds()*rate)
		b.at = now
	}
}

func (b *bucket) take() bool {
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// sourceBuckets is one source's state: serve pays for requests parkd
// handles; once it is empty, refuse pays for the 503s, so a source that
// keeps flooding gets at most a burst of 503s and then silence.
type sourceBuckets struct{ serve, refuse bucket }

func (s *sourceBuckets) take(now time.Time, rate, burst float64) verdict {
	s.serve.refill(now, rate, burst)
	s.refuse.refill(now, rate, burst)
	switch {
	case s.serve.take():
		return admit
	case s.refuse.take():
		return shed
	}
	return drop
}

// idle reports whether both buckets would be full by now: such an entry
// behaves like a new one and can be forgotten.
func (s *sourceBuckets) idle(now time.Time, rate, burst float64) bool {
	full := func(b bucket) bool { return b.tokens+now.Sub(b.at).Seconds()*rate >= burst }
	return full(s.serve) && full(s.refuse)
}

// rateLimiter is the per-source request limit (sip.rate_limit).
type rateLimiter struct {
	rate, burst float64
	maxSources  int

	mu        sync.Mutex
	sources   map[netip.Addr]*sourceBuckets
	overflow  sourceBuckets // shared by the sources there was no room for
	lastSweep time.Time
}

func newRateLimiter(cfg RateLimit) *rateLimiter {
	if cfg.PerSecond <= 0 {
		return nil
	}
	burst := float64(max(cfg.Burst, 1))
	return &rateLimiter{rate: cfg.PerSecond, burst: burst, maxSources: maxTrackedSources,
		sources: map[netip.Addr]*sourceBuckets{}}
}

// take charges one request from src; a nil limiter admits everything.
func (l *rateLimiter) take(src netip.Addr, now time.Time) verdict {
	if l == nil {
		return admit
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.sources[src]
	if !ok {
		if len(l.sources) >= l.maxSources {
			l.sweepLocked(now)
		}
		if len(l.sources) >= l.maxSources {
			return l.overflow.take(now, l.rate, l.burst)
		}
		s = &sourceBuckets{}
		l.sources[src] = s
	}
	return s.take(now, l.rate, l.burst)
}

// sweepLocked forgets idle sources, at most once a second: under a flood
// from more sources than fit, the sweep would otherwise run per packet.
func (l *rateLimiter) sweepLocked(now time.Time) {
	if now.Sub(l.lastSweep) < time.Second {
		return
	}
	l.lastSweep = now
	for ip, s := range l.sources {
		if s.idle(now, l.rate, l.burst) {
			delete(l.sources, ip)
		}
	}
}

// retryAfter is the Retry-After of a 503: the time a source's bucket takes
// to fill again, in whole seconds.
func (l *rateLimiter) retryAfter() int {
	if l == nil {
		return 1
	}
	return max(1, min(60, int(l.burst/l.rate+0.999)))
}
