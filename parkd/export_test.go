package parkd

import "github.com/parkd/parkd/sipcore"

// SetReferAccepted makes s run f after it answers a REFER and before it
// follows it, so a test can send what a phone sends at that moment.
func SetReferAccepted(s *Server, f func()) {
	s.mu.Lock()
	s.referAccepted = f
	s.mu.Unlock()
}

// SetAnsweredHook makes s run f when a call it placed (a recall, an
// attendant's connect) was answered, before s takes it in hand.
func SetAnsweredHook(s *Server, f func(*sipcore.Call)) { s.answeredHook.Store(&f) }
