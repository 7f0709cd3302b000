package sipcore

// Why parkd refused a SIP TCP connection at accept, or closed one later.
const (
	TCPNotAllowed     = "not_allowed"     // refused: the source is outside sip.allow
	TCPMaxConnections = "max_connections" // refused: sip.tcp.max_connections are open
	TCPMaxPerSource   = "max_per_source"  // refused: sip.tcp.max_per_source are open from that IP
	TCPIdle           = "idle"            // closed: silent for sip.tcp.idle_timeout, carrying no dialog
	TCPSlowMessage    = "slow_message"    // closed: a message took longer than sip.tcp.message_timeout
	TCPOversized      = "oversized"       // closed: a message over 63 KiB
	TCPSlowReader     = "slow_reader"     // closed: a write to it took longer than sip.tcp.message_timeout
)

type tcpReason uint8

const (
	reasonNotAllowed tcpReason = iota
	reasonMaxConnections
	reasonMaxPerSource
	reasonIdle
	reasonSlowMessage
	reasonOversized
	reasonSlowReader
	numTCPReasons
)

// firstCloseReason splits refusals (before it) from closes.
const firstCloseReason = reasonIdle

var tcpReasonNames = [numTCPReasons]string{
	TCPNotAllowed, TCPMaxConnections, TCPMaxPerSource, TCPIdle, TCPSlowMessage, TCPOversized, TCPSlowReader,
}

func (r tcpReason) String() string { return tcpReasonNames[r] }

// ReasonCount is how many connections were refused or closed for one reason.
type ReasonCount struct {
	Reason string // one of the TCP… constants
	Count  uint64
}

// TCPStats are the SIP TCP listeners' counters.
type TCPStats struct {
	// Open is the number of accepted connections open now.
	Open int
	// AcceptErrors counts failed accept calls (EMFILE and the like), each
	// retried after a pause.
	AcceptErrors uint64
	// Refused counts connections closed at accept, before a byte was read;
	// Closed those parkd closed later. Only non-zero entries, in a fixed
	// order.
	Refused, Closed []ReasonCount
}

func (g *tcpGate) stats() TCPStats {
	if g == nil {
		return TCPStats{}
	}
	g.mu.Lock()
	st := TCPStats{Open: g.open, AcceptErrors: g.acceptErrors.Load()}
	g.mu.Unlock()
	for r := range g.counts {
		n := g.counts[r].Load()
		if n == 0 {
			continue
		}
		rc := ReasonCount{Reason: tcpReason(r).String(), Count: n}
		if tcpReason(r) < firstCloseReason {
			st.Refused = append(st.Refused, rc)
		} else {
			st.Closed = append(st.Closed, rc)
		}
	}
	return st
}
