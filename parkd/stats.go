package parkd

import (
	"time"

	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media"
)

// Stats is a snapshot of parkd's counters and gauges for metrics: the SIP
// endpoint's, the process's RTP totals, and per-lot occupancy.
type Stats struct {
	SIP sipcore.EndpointStats
	// RTPReceived and RTPSent count RTP packets over every media session
	// of the process since it started (see media.Totals).
	RTPReceived, RTPSent uint64
	// RTPRejected counts datagrams dropped because their source may not
	// send to the call (rtp.latch): someone aiming RTP at parkd's ports.
	RTPRejected uint64
	// RTPLate counts bridged calls' packets not relayed because they
	// waited in parkd longer than rtp.max_relay_delay: parkd was behind.
	RTPLate uint64
	// RTPRelayLag is how late the relay read a bridged call's packet, the
	// worst of those sampled over about the last second (media.RelayLag):
	// the delay parkd adds to what the callers hear.
	RTPRelayLag time.Duration
	// MOHListeners is the number of calls hearing music on hold now.
	MOHListeners int
	// SlotsInUse is, by lot name, how many slots hold a parked call; every
	// configured lot is present, with 0 when empty.
	SlotsInUse map[string]int
	// Queued is, by lot name, how many calls wait in its attendant queue;
	// every configured lot is present.
	Queued map[string]int
}

// Stats reads the counters. It takes the server lock only to walk the
// lots, so it is cheap enough for every metrics scrape.
func (s *Server) Stats() Stats {
	var st Stats
	if s.endpoint != nil {
		st.SIP = s.endpoint.Stats()
	}
	rtp := media.Totals()
	st.RTPReceived, st.RTPSent, st.RTPRejected, st.RTPLate = rtp.Received, rtp.Sent, rtp.Rejected, rtp.Late
	st.RTPRelayLag = media.RelayLag()
	if s.music.src.Load() != nil {
		st.MOHListeners = s.music.source().Listeners()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.SlotsInUse = make(map[string]int, len(s.lots))
	st.Queued = make(map[string]int, len(s.lots))
	for _, l := range s.lots {
		inUse := 0
		for _, sl := range l.slots {
			if sl.parked != nil {
				inUse++
			}
		}
		st.SlotsInUse[l.cfg.Name] = inUse
		st.Queued[l.cfg.Name] = len(l.queue)
	}
	return st
}
