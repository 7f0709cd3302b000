package parkd

import (
	"slices"
	"strings"

	"github.com/parkd/parkd/sipcore"
)

// rebuildBLFLocked builds BLF from the lots in force and carries over what
// each slot shows. Before anything new is published it ends the
// subscriptions that must not see it: resources that went (noresource)
// and resources whose watchers must be sorted anew because who may see
// their detail changed (deactivated: the phone subscribes again). Then it
// publishes every resource and recounts each slot's watchers. Callers
// hold s.mu.
func (s *Server) rebuildBLFLocked() {
	old := s.blf
	old.close() // nothing it still has queued may publish after what follows
	b := newBLF(s.lots, s.retired, s.configuredPolicy)
	b.renders = old.renders
	b.restrict(s.restricted)
	for name, bs := range b.slots {
		if sl := s.bySlot[name]; sl != nil && sl.parked != nil {
			lamp := *bs.lamp.Load()
			lamp.call, lamp.recalling = sl.parked.view(), sl.parked.ringing != ""
			bs.lamp.Store(&lamp)
		}
	}
	withdraw := func(resource, reason string, forget bool) {
		s.endpoint.Withdraw(resource, reason, forget)
	}
	for key, r := range old.resources {
		now := b.resources[key]
		switch {
		case now == nil:
			withdraw(key, sipcore.ReasonNoResource, true)
			withdraw(key+stateOnly, sipcore.ReasonNoResource, true)
		case r.restricted && !now.restricted:
			// Its state-only watchers subscribe again and get it all.
			withdraw(key+stateOnly, sipcore.ReasonDeactivated, true)
		case r.restricted != now.restricted || (now.restricted && whoMaySee(r) != whoMaySee(now)):
			withdraw(key, sipcore.ReasonDeactivated, false)
			if r.restricted {
				withdraw(key+stateOnly, sipcore.ReasonDeactivated, false)
			}
		}
	}
	b.withdraw, b.subscribers, b.now = old.withdraw, old.subscribers, old.now
	s.blf = b
	b.start(old.host, old.publish)
	for name, sl := range s.bySlot {
		sl.watchers = b.watchers(name, s.endpoint.Subscribers)
	}
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
	// Under the renderer's lock: it reads r.slots, and a render still
	// queued must not publish a resource after its withdrawal.
	b.renders.mu.Lock()
	defer b.renders.mu.Unlock()
	delete(b.slots, name)
	for _, r := range b.bySlot[name] {
		if len(r.slots) == 1 {
			// Its final NOTIFY carries the last state, which a render
			// still queued has not published yet.
			b.renderLocked(r)
		}
		r.slots = slices.DeleteFunc(r.slots, func(x *blfSlot) bool { return x == bs })
		if len(r.slots) == 0 {
			r.gone = true
			delete(b.resources, r.key)
			if b.withdraw != nil {
				b.withdraw(r.key)
				if r.restricted {
					b.withdraw(r.key + stateOnly)
				}
			}
		} else {
			b.renderLocked(r)
		}
	}
	delete(b.bySlot, name)
}
