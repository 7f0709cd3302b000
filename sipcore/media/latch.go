package media

// Latch says whose RTP a session accepts (rtp.latch). Packets from
// anywhere else are dropped and counted, never latched.
type Latch int

const (
	// LatchSignalling accepts the SDP address, and any port on the IP the
	// call's signalling came from (a caller behind NAT).
	LatchSignalling Latch = iota
	// LatchSDP accepts only the address in the SDP.
	LatchSDP
	// LatchAny latches on whatever sends first (trusted networks only).
	LatchAny
)

// ParseLatch reads the config spelling: sdp, signalling or any.
func ParseLatch(s string) (Latch, bool) {
	switch s {
	case "signalling", "":
		return LatchSignalling, true
	case "sdp":
		return LatchSDP, true
	case "any":
		return LatchAny, true
	}
	return 0, false
}

func (l Latch) String() string {
	switch l {
	case LatchSDP:
		return "sdp"
	case LatchAny:
		return "any"
	}
	return "signalling"
}
