package sipcore

import "github.com/parkd/parkd/sipcore/presence"

// Reasons a resource's subscriptions are ended by Withdraw (RFC 6665
// §4.1.3).
const (
	// ReasonNoResource: the slot or presence_id left the configuration;
	// the phone should not subscribe again.
	ReasonNoResource = "noresource"
	// ReasonDeactivated: subscribe again now; what the resource shows, or
	// who may see it, changed and the new SUBSCRIBE is sorted anew.
	ReasonDeactivated = "deactivated"
)

// Withdraw ends every subscription to resource, in every event package,
// with a final NOTIFY carrying reason and the resource's latest state.
// forget drops the resource's published state too, so a SUBSCRIBE to it
// finds nothing until it is published again. The handler hears of the
// changed counts on a goroutine of its own, so Withdraw may be called
// while holding the lock SubscriptionsChanged takes: a reload ends the
// subscriptions before it publishes anything new. It returns how many
// subscriptions it ended.
func (ep *Endpoint) Withdraw(resource, reason string, forget bool) int {
	r := &ep.subs
	type ending struct {
		s    *Subscription
		body presence.Body // the resource's latest, which its fan-out may not have delivered yet
		seq  uint64
	}
	var subs []ending
	r.mu.Lock()
	for key, rs := range r.resources {
		if key.resource != resource {
			continue
		}
		for s := range rs.subs {
			subs = append(subs, ending{s, rs.body, rs.seq})
		}
		if forget {
			delete(r.resources, key)
		}
	}
	r.mu.Unlock()
	state := "terminated;reason=" + reason
	ended := 0
	for _, e := range subs {
		if e.s.withdraw(e.body, e.seq, state) {
			ended++
		}
	}
	if ended > 0 {
		go ep.handler.SubscriptionsChanged(resource)
	}
	return ended
}

// withdraw ends s with a final NOTIFY that carries body when it is newer
// than what s last had, without telling the handler (Withdraw does, once).
func (s *Subscription) withdraw(body presence.Body, seq uint64, state string) bool {
	if !s.seal(state, &body, seq) || !s.ep.subs.remove(s) {
		return false
	}
	s.sendFinal()
	return true
}
