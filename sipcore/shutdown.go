package sipcore

import (
	"context"
	"sync"
	"time"
)

// hangupAll sends every call a BYE and waits until each has ended and the
// handler has been told (CallEnded returned), or ctx ends; false then.
func (ep *Endpoint) hangupAll(ctx context.Context) bool {
	calls := ep.dialogs.all()
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() { c.HangupCause(ctx, CauseTemporaryFailure, "shutdown") })
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		wg.Wait()
		// A call someone else was already hanging up returns from
		// Hangup at once; wait for its end to be handled too.
		for _, c := range calls {
			select {
			case <-c.released:
			case <-ctx.Done():
				return
			}
		}
	}()
	select {
	case <-done:
		return ctx.Err() == nil
	case <-ctx.Done():
		return false
	}
}

// awaitFanouts waits until every publication has been handed to its
// subscribers, so that a final NOTIFY sent next carries the newest body.
// Only Shutdown waits like this, so a short poll is enough.
func (ep *Endpoint) awaitFanouts(done <-chan struct{}) {
	if w, ok := ep.handler.(PublicationWaiter); ok {
		w.AwaitPublications()
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for ep.fanning() {
		select {
		case <-tick.C:
		case <-done:
			return
		}
	}
}

// fanning reports whether a fan-out is still delivering a publication.
func (ep *Endpoint) fanning() bool {
	ep.subs.mu.Lock()
	defer ep.subs.mu.Unlock()
	for _, rs := range ep.subs.resources {
		if rs.fanning {
			return true
		}
	}
	return false
}

// endingsGrace bounds the wait for calls whose BYE was still unanswered
// when the transaction layer closed: closing it cancels their BYEs, so they
// end at once, but parkd must hear of each before its store closes, or
// their history rows are lost. Thousands of calls ending together take
// parkd a while to handle, so the wait goes on while calls keep ending and
// stops once none has ended for endingsGrace, or after endingsCap in all.
const (
	endingsGrace = 2 * time.Second
	endingsCap   = 30 * time.Second
)

// awaitEndings waits until every call that began hanging up has been
// reported ended (CallEnded returned), while they keep ending (stall) and
// for at most endingsCap.
func (ep *Endpoint) awaitEndings(stall time.Duration) {
	start := time.Now()
	last, lastChange := ep.ending.Load(), start
	for n := last; n > 0; n = ep.ending.Load() {
		now := time.Now()
		if n != last {
			last, lastChange = n, now
		}
		if now.Sub(lastChange) > stall || now.Sub(start) > endingsCap {
			ep.log.Warn("shutdown: some calls did not end in time", "calls", n)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// awaitOriginated waits, for d at most, until the branches still in flight
// when the transaction layer closed have seen their transactions end and
// closed their RTP sessions.
func (ep *Endpoint) awaitOriginated(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if !ep.inflight.wait(ctx) {
		ep.log.Warn("shutdown: some originated calls did not end in time", "branches", ep.inflight.pending())
	}
}
