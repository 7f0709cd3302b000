package sipcore

import "github.com/parkd/parkd/sipcore/presence"

// Final states of a subscription whose resource a reload changed.
const (
	// stateNoResource: the slot or presence_id left the configuration;
	// RFC 6665 §4.1.3 asks the phone not to subscribe again.
	stateNoResource = "terminated;reason=noresource"
	// stateDeactivated: the resource still exists but who may see what
	// changed; the phone subscribes again at once and is sorted anew.
	stateDeactivated = "terminated;reason=deactivated"
)

// Withdraw ends every subscription to resource, in every event package,
// with a final NOTIFY: reason noresource when gone (the resource no longer
// exists and its published state is forgotten, so a new SUBSCRIBE finds
// nothing), else deactivated (subscribe again now). It returns how many
// subscriptions it ended. It calls the handler's SubscriptionsChanged, so
// it must not be called with a lock that method takes.
func (ep *Endpoint) Withdraw(resource string, gone bool) int {
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
		if gone {
			delete(r.resources, key)
		}
	}
	r.mu.Unlock()
	state := stateDeactivated
	if gone {
		state = stateNoResource
	}
	for _, e := range subs {
		e.s.terminateWith(e.body, e.seq, state)
	}
	return len(subs)
}

// terminateWith ends s with a final NOTIFY that carries body when it is
// newer than what s last had, so the last word a watcher hears is the
// resource's latest state.
func (s *Subscription) terminateWith(body presence.Body, seq uint64, state string) {
	s.mu.Lock()
	if seq > s.bodySeq && s.final == "" {
		s.body, s.bodySeq = body, seq
	}
	s.mu.Unlock()
	s.terminate(state)
}
