package sipcore

import "github.com/emiago/sipgo/sip"

// The ACK of a 2xx parkd sent is taken on the UDP read loop, from the
// datagram's bytes. Every answered call brings one, a park+retrieve pair
// two, and sipgo gave each the cost of a new request: a full parse, a
// goroutine, a server transaction of its own (the ACK of a 2xx matches
// none, RFC 3261 §17.1.1.3) with a context and a timer, and a turn on a
// handler goroutine, all to stop a timer and close a channel. Here it
// costs a scan of the header lines and a map lookup.
//
// Only an ACK that a waiting 2xx is found for is taken, and only one in
// the plain shape parseRawRequest reads. Anything else goes on to sipgo
// as before: a copy or a reordered ACK, the ACK of an error response
// (its INVITE transaction needs it to stop resending: parkd's own takes
// it in the read filter too, invite_tx_gate.go), an ACK with a
// body (the answer to a late offer), folded or repeated headers, and
// whatever is not plain. The read loop never waits for a call's lock: a
// call busy answering something (over TCP, a write can block for
// seconds) has its ACK go the sipgo way.

// takeAck is the read filter's part for an ACK datagram: true when it
// acknowledged a 2xx that was waiting, and sipgo need not see it.
func (ep *Endpoint) takeAck(data []byte) bool {
	ack, ok := parseRawRequest(data, sip.ACK)
	if !ok {
		return false
	}
	c := ep.dialogs.get(ack.dialog)
	if c == nil || !c.mu.TryLock() {
		return false
	}
	taken := c.ackArrivedLocked(ack.cseq)
	c.mu.Unlock()
	if taken {
		ep.stats.request(sip.ACK)
	}
	return taken
}
