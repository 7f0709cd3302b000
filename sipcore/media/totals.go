package media

import "sync"

// totals is the process-wide RTP packet count behind Totals. The packet
// paths only bump their session's own counters (Session.received and
// outStream.sent), so counting stays free of shared cache lines; Totals
// adds up the live sessions, and Close folds a session's final counts into
// closed before it leaves the live set.
var totals struct {
	mu             sync.Mutex
	live           map[*Session]struct{}
	closedReceived uint64
	closedSent     uint64
}

// trackSession adds a new session to the live set.
func trackSession(s *Session) {
	totals.mu.Lock()
	if totals.live == nil {
		totals.live = map[*Session]struct{}{}
	}
	totals.live[s] = struct{}{}
	totals.mu.Unlock()
}

// untrackSession moves a closed session's counts into the closed totals.
// Close calls it once the read goroutine has exited and no feeder can
// write any more, so the session's counters no longer move.
func untrackSession(s *Session) {
	totals.mu.Lock()
	if _, ok := totals.live[s]; ok {
		delete(totals.live, s)
		totals.closedReceived += s.received.Load()
		totals.closedSent += s.out.sent.Load()
	}
	totals.mu.Unlock()
}

// Totals is the number of valid RTP packets received and of RTP packets
// written to the socket by every session of the process, open or closed,
// since it started. Both only grow. It costs one pass over the open
// sessions, so it suits a metrics scrape, not a packet path.
func Totals() (received, sent uint64) {
	totals.mu.Lock()
	defer totals.mu.Unlock()
	received, sent = totals.closedReceived, totals.closedSent
	for s := range totals.live {
		received += s.received.Load()
		sent += s.out.sent.Load()
	}
	return received, sent
}
