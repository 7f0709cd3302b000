package simphone

import (
	"context"
	"time"
)

// Close stops the town: Run returns, every call is hung up, the SIP
// listener and RTP ports are closed. It is safe to call more than once.
func (t *Town) Close() {
	t.closeOnce.Do(func() {
		t.drain()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		t.ep.Shutdown(ctx)
		t.rtp.Close()
		t.sources.Wait()
	})
}

// drain stops the town and waits for every call to be hung up.
func (t *Town) drain() {
	t.stop()
	t.mu.Lock()
	t.stopping = true
	t.mu.Unlock()
	t.wg.Wait()
}

// track counts a goroutine that owns a call; false once the town stops.
func (t *Town) track() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopping {
		return false
	}
	t.wg.Add(1)
	return true
}

func (t *Town) spawn(f func()) {
	if t.track() {
		go func() {
			defer t.wg.Done()
			f()
		}()
	}
}

// join puts a caller on the line; false when they are already on it or
// every line is busy.
func (t *Town) join(c *caller) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.active[c.user] != nil || len(t.active) >= maxCallers {
		return false
	}
	t.active[c.user] = c
	return true
}

func (t *Town) leave(c *caller) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.active[c.user] == c {
		delete(t.active, c.user)
	}
}

func (t *Town) scaled(d time.Duration) time.Duration { return time.Duration(float64(d) * t.scale) }

func (t *Town) sleep(d time.Duration) bool { return t.sleepUntil(time.Now().Add(d)) }

// sleepUntil waits for when; false if the town stopped first.
func (t *Town) sleepUntil(when time.Time) bool {
	timer := time.NewTimer(time.Until(when))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-t.ctx.Done():
		return false
	}
}
