package parkd

import (
	"slices"
	"strings"
)

// withdrawal is a BLF resource whose subscriptions a reload ends: gone
// (noresource) or changed in who may see what (deactivated: the phone
// subscribes again and is sorted anew).
type withdrawal struct {
	resource string
	gone     bool
}

// rebuildBLFLocked builds BLF from the lots in force, carries over what
// each slot shows, publishes every resource and recounts each slot's
// watchers. It returns the subscriptions to end, once s.mu is let go
// (ending them calls back into SubscriptionsChanged). Callers hold s.mu.
func (s *Server) rebuildBLFLocked() []withdrawal {
	old := s.blf
	b := newBLF(s.lots, s.retired, s.configuredPolicy)
	b.restrict(s.restricted)
	for name, bs := range b.slots {
		if sl := s.bySlot[name]; sl != nil && sl.parked != nil {
			bs.call, bs.recalling = sl.parked.view(), sl.parked.ringing != ""
		}
	}
	b.withdraw = old.withdraw
	s.blf = b
	b.start(old.host, old.publish)

	var out []withdrawal
	for key, r := range old.resources {
		now := b.resources[key]
		switch {
		case now == nil:
			out = append(out, withdrawal{key, true}, withdrawal{key + stateOnly, true})
		case r.restricted && !now.restricted:
			out = append(out, withdrawal{key + stateOnly, true})
		case r.restricted != now.restricted || (now.restricted && whoMaySee(r) != whoMaySee(now)):
			out = append(out, withdrawal{key, false})
			if r.restricted {
				out = append(out, withdrawal{key + stateOnly, false})
			}
		}
	}
	for name, sl := range s.bySlot {
		sl.watchers = b.watchers(name, s.endpoint.Subscribers)
	}
	return out
}

// whoMaySee sums up the retrieve_allow lists behind a resource, to tell
// whether a reload changed which watchers may see its detail.
func whoMaySee(r *blfResource) string {
	var parts []string
	for _, bs := range r.slots {
		parts = append(parts, bs.lot.cfg.Name+"="+strings.Join(bs.lot.cfg.RetrieveAllow, ","))
	}
	slices.Sort(parts)
	return strings.Join(slices.Compact(parts), ";")
}

// removeSlot forgets a retired slot that emptied; a resource left with
// no slot is withdrawn (its watchers' subscriptions end).
func (b *blf) removeSlot(name string) {
	bs := b.slots[name]
	if bs == nil {
		return
	}
	delete(b.slots, name)
	for _, r := range b.bySlot[name] {
		r.slots = slices.DeleteFunc(r.slots, func(x *blfSlot) bool { return x == bs })
		if len(r.slots) == 0 {
			delete(b.resources, r.key)
			if b.withdraw != nil {
				b.withdraw(r.key)
				if r.restricted {
					b.withdraw(r.key + stateOnly)
				}
			}
		} else {
			b.render(r)
		}
	}
	delete(b.bySlot, name)
}
