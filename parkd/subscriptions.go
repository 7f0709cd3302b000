package parkd

import (
	"time"

	"github.com/parkd/parkd/sipcore"
)

// ResolveSubscription maps a SUBSCRIBE target (a slot, a lot's park
// extension, "park", a presence_id) to the resource BLF publishes, in the
// variant the watcher may see (see mayWatchDetail).
func (s *Server) ResolveSubscription(req *sipcore.SubscribeRequest) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blf.resolve(req.Target, func(l *lot) bool { return s.mayWatchDetail(l, req.Identity) })
}

// SubscriptionsChanged recounts the watchers of every slot the resource
// shows and emits an event for each slot whose count moved.
func (s *Server) SubscriptionsChanged(resource string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range s.blf.slotsOf(resource) {
		sl := s.bySlot[name]
		if sl == nil {
			continue
		}
		if n := s.blf.watchers(name, s.endpoint.Subscribers); n != sl.watchers {
			sl.watchers = n
			s.emit(EventSubscribers, sl, sl.parked, "")
		}
	}
}

// AwaitPublications waits until BLF has published every slot change made
// so far (sipcore.PublicationWaiter): Shutdown's final NOTIFYs then show
// the slots emptied by its hang-ups.
func (s *Server) AwaitPublications() {
	s.mu.Lock()
	renders := s.blf.renders // shared by every blf a reload makes
	s.mu.Unlock()
	renders.wait()
}

// observeFanout logs how long a slot change took to reach every subscriber.
func (s *Server) observeFanout(resource string, notified int, took time.Duration) {
	s.log.Debug("BLF change sent", "resource", resource, "notified", notified, "took", took)
	if f := s.fanoutObserver.Load(); f != nil {
		(*f)(resource, notified, took)
	}
}

// fanoutFunc sees every BLF fan-out; the benchmarks use it (and metrics will).
type fanoutFunc = func(resource string, notified int, took time.Duration)
