package parkd

// SetReferAccepted makes s run f after it answers a REFER and before it
// follows it, so a test can send what a phone sends at that moment.
func SetReferAccepted(s *Server, f func()) {
	s.mu.Lock()
	s.referAccepted = f
	s.mu.Unlock()
}
