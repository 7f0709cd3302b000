package parkd

// Leg names which party a call leg is, so a log line or a hang-up reason
// says "the retriever hung up" rather than calling every leg the caller.
type leg string

// How a leg came to parkd.
const (
	legCaller        leg = "caller"         // it called parkd: to park, to queue, or a slot
	legRetriever     leg = "retriever"      // it dialled a slot (or pickup) and took the call
	legRecallTarget  leg = "recall target"  // parkd rang it back for a parked call
	legConnectTarget leg = "connect target" // parkd rang it for the attendant (retrieve to, transfer, forward)
)

// legName is who rec is now: a leg parked again after a transfer is the
// parked caller, whoever it first was. Callers hold s.mu.
func (s *Server) legNameLocked(rec *callRecord) string {
	switch {
	case rec.slot != nil:
		return "parked caller"
	case rec.queued:
		return "queued caller"
	case rec.leg == "":
		return string(legCaller)
	}
	return string(rec.leg)
}
