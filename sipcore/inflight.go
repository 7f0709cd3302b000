package sipcore

import (
	"context"
	"strconv"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// inflight is the one place that knows every INVITE parkd originated and
// has not finished with, whoever asked for it (a recall, a ring group, a
// retrieve to a URI, a transfer). Shutdown relies on it instead of on its
// callers remembering to cancel their contexts: it CANCELs what still
// rings and waits for the late answers to be hung up.
type inflight struct {
	mu       sync.Mutex
	stopping bool                 // Shutdown began: no new branch may start
	branches map[*branch]struct{} // sent, and not yet finished
	late     int                  // unwanted 200s being ACKed and hung up
	changed  chan struct{}        // closed and replaced when one finishes
	stop     chan struct{}        // closed when Shutdown begins
}

// add registers a branch before its INVITE leaves, so that Shutdown either
// sees it or has already refused it.
func (f *inflight) add(b *branch) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopping {
		return errDraining
	}
	if f.branches == nil {
		f.branches = map[*branch]struct{}{}
	}
	f.branches[b] = struct{}{}
	return nil
}

// remove forgets a finished branch: its INVITE got a final response (and
// an answer was made a call or hung up), or its transaction ended.
func (f *inflight) remove(b *branch) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.branches[b]; ok {
		delete(f.branches, b)
		f.wakeLocked()
	}
}

// lateBegin counts a 200 being hung up, until lateEnd.
func (f *inflight) lateBegin() {
	f.mu.Lock()
	f.late++
	f.mu.Unlock()
}

func (f *inflight) lateEnd() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.late--
	f.wakeLocked()
}

func (f *inflight) wakeLocked() {
	if f.changed != nil {
		close(f.changed)
		f.changed = nil
	}
}

// stopped is closed once Shutdown begins.
func (f *inflight) stopped() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stop == nil {
		f.stop = make(chan struct{})
	}
	return f.stop
}

// stopAll refuses new branches from now on and returns those in flight.
func (f *inflight) stopAll() []*branch {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.stopping {
		f.stopping = true
		if f.stop == nil {
			f.stop = make(chan struct{})
		}
		close(f.stop)
	}
	out := make([]*branch, 0, len(f.branches))
	for b := range f.branches {
		out = append(out, b)
	}
	return out
}

// pending is how many branches and late hang-ups are not finished.
func (f *inflight) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.branches) + f.late
}

// wait returns true once every branch and late hang-up has finished, or
// false when ctx ends first.
func (f *inflight) wait(ctx context.Context) bool {
	for {
		f.mu.Lock()
		if len(f.branches) == 0 && f.late == 0 {
			f.mu.Unlock()
			return true
		}
		if f.changed == nil {
			f.changed = make(chan struct{})
		}
		changed := f.changed
		f.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// cancelOriginated CANCELs every branch still ringing; one that has had no
// provisional response yet gets its CANCEL when one comes (RFC 3261 §9.1).
// A 200 that crosses the CANCEL is ACKed and hung up by its branch, which
// sees the endpoint draining.
func (ep *Endpoint) cancelOriginated() {
	branches := ep.inflight.stopAll()
	if len(branches) > 0 {
		ep.log.Info("shutdown: canceling "+strconv.Itoa(len(branches))+" ringing branches", "branches", len(branches))
	}
	for _, b := range branches {
		b.cancel()
	}
}

// hangUpLate ACKs and BYEs an unwanted 200 in the background, counted so
// that Shutdown waits for the BYE's answer.
func (ep *Endpoint) hangUpLate(invite *sip.Request, res *sip.Response, why string) {
	ep.inflight.lateBegin()
	go func() {
		defer ep.inflight.lateEnd()
		ep.byeStray(invite, res, why)
	}()
}
