package media

// DTMF digits arrive as RFC 4733 telephone-events: a phone sends one event
// as a run of packets that all carry the event's start timestamp (the
// first with the marker bit), each with a growing duration, and ends it
// with up to three identical packets with the E bit set. So an event is
// known by its SSRC and timestamp, and one key press is reported once, on
// the first of its packets that arrives.

// dtmfDigits maps the RFC 4733 §3.2 DTMF event codes 0-15 to their keys.
const dtmfDigits = "0123456789*#ABCD"

// telephoneEventLen is the size of one event in a telephone-event payload.
const telephoneEventLen = 4

// parseDTMFEvent reads the event code and E (end) bit of a telephone-event
// payload. Events other than the sixteen DTMF keys (flash, modem and fax
// tones, ...) and payloads too short for an event are not DTMF: !ok.
func parseDTMFEvent(payload []byte) (digit rune, end, ok bool) {
	if len(payload) < telephoneEventLen || int(payload[0]) >= len(dtmfDigits) {
		return 0, false, false
	}
	return rune(dtmfDigits[payload[0]]), payload[1]&0x80 != 0, true
}

// dtmfState is the event the session's peer sent last. It belongs to the
// session's reader (one packet at a time).
type dtmfState struct {
	seen  bool
	ssrc  uint32
	ts    uint32
	digit rune
	ended bool // an end packet of it has arrived
}

// next takes one telephone-event packet and reports whether it starts a
// new key press (and which). Repeats and end retransmissions of the
// current event, stale packets of an earlier event arriving late, and the
// further segments of a long event (RFC 4733 §2.5.1.3: a new timestamp,
// same key, no marker, previous segment not ended) are not new presses.
func (d *dtmfState) next(p rtpPacket, payload []byte) (rune, bool) {
	digit, end, ok := parseDTMFEvent(payload)
	if !ok {
		return 0, false
	}
	if d.seen && p.ssrc == d.ssrc {
		switch delta := int32(p.ts - d.ts); {
		case delta == 0:
			d.ended = d.ended || end
			return 0, false
		case delta < 0:
			return 0, false
		case !d.ended && digit == d.digit && !p.marker:
			d.ts, d.ended = p.ts, end
			return 0, false
		}
	}
	*d = dtmfState{seen: true, ssrc: p.ssrc, ts: p.ts, digit: digit, ended: end}
	return digit, true
}

// OnDTMF calls f once per telephone-event (RFC 4733: '0'-'9', '*', '#',
// 'A'-'D') the peer sends, from whoever reads the session (a poller, or
// the quiet sweep within 100 ms; so only after Start), and f must not
// block, nor bridge or unbridge on the spot: hand the digit to a channel
// or another goroutine. Only the
// peer's packets count: those a stranger sends are dropped before this.
// nil stops the calls. Events are still relayed to a bridged peer.
func (s *Session) OnDTMF(f func(digit rune)) {
	if f == nil {
		s.onDTMF.Store(nil)
		return
	}
	s.onDTMF.Store(&f)
}

// noteEvent runs for every telephone-event packet from the peer. Zero
// allocations.
func (s *Session) noteEvent(pkt []byte, p rtpPacket) {
	digit, ok := s.dtmf.next(p, pkt[p.payloadOff:p.payloadEnd])
	if !ok {
		return
	}
	if f := s.onDTMF.Load(); f != nil {
		(*f)(digit)
	}
}
