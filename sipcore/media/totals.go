package media

import "sync"

// totals is the process-wide RTP packet count behind Totals. The packet
// paths only bump their session's own counters (Session.received,
// Session.rejected and outStream.sent), so counting stays free of shared cache lines; Totals
// adds up the live sessions, and Close folds a session's final counts into
// closed before it leaves the live set.
var totals struct {
	mu     sync.Mutex
	live   map[*Session]struct{}
	closed PacketTotals
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
// Close calls it once the socket is closed, its reader done, and no feeder can
// write any more, so the session's counters no longer move.
func untrackSession(s *Session) {
	totals.mu.Lock()
	if _, ok := totals.live[s]; ok {
		delete(totals.live, s)
		totals.closed.add(s)
	}
	totals.mu.Unlock()
}

// PacketTotals counts RTP packets over every session of the process.
type PacketTotals struct {
	Received uint64 // valid RTP packets taken in from allowed sources
	Sent     uint64 // RTP packets written to the socket
	Rejected uint64 // datagrams dropped because their source may not send (rtp.latch)
	// Late counts bridged calls' packets not relayed because they waited
	// in parkd's socket longer than the max relay delay (relay_late.go).
	Late uint64
}

func (t *PacketTotals) add(s *Session) {
	t.Received += s.received.Load()
	t.Sent += s.out.sent.Load()
	t.Rejected += s.rejected.Load()
	t.Late += s.late.Load()
}

// Totals adds up the packets of every session of the process, open or
// closed, since it started; every count only grows. It costs one pass over
// the open sessions, so it suits a metrics scrape, not a packet path.
func Totals() PacketTotals {
	totals.mu.Lock()
	defer totals.mu.Unlock()
	t := totals.closed
	for s := range totals.live {
		t.add(s)
	}
	return t
}
