package parkd

import (
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parkd/parkd/sipcore/presence"
)

// blf publishes slot state to SIP subscribers (BLF keys). It is a consumer
// of the event stream like the API and the console: it keeps the little
// state it needs from events and never reads the slots themselves.
type blf struct {
	publish  func(resource, event string, body presence.Body)
	withdraw func(resource string) // ends every subscription to a resource that went
	// subscribers counts a resource's live subscriptions (sipcore's);
	// nil counts everyone as watched. now is the clock for resolveGrace.
	subscribers func(resource string) int
	now         func() time.Time
	host        string                    // host part of entity URIs
	resources   map[string]*blfResource   // by the user part phones subscribe to
	bySlot      map[string][]*blfResource // slot → every resource that shows it
	slots       map[string]*blfSlot
	// renders renders and publishes off the slot lock; a reload's new blf
	// takes over its predecessor's, so their publications stay in order.
	renders *blfRenderer
	closed  bool // replaced by a reload: its pending renders are dropped (renders.mu)
}

// blfResource is one subscribable entity: a slot, a lot (all its slots),
// or a presence_id several slots publish under.
type blfResource struct {
	key   string // the name sipcore knows the resource by
	user  string // entity user part
	host  string // entity host, "" = parkd's own
	slots []*blfSlot
	// restricted: some of its slots are in a lot that shows watchers the
	// state alone unless they may retrieve there (see Server.restricted);
	// such a resource is also published as key+stateOnly.
	restricted bool
	// stale: a change reached it while nobody watched, so it was not
	// rendered; the next SUBSCRIBE to it renders it first.
	stale bool
	// resolvedUntil: a SUBSCRIBE was resolved to it moments ago and may
	// not be registered yet; it is rendered on every change until then.
	resolvedUntil time.Time
	// gone: removed with its last slot; a render still queued skips it
	// (renders.mu).
	gone bool
	// queued: waiting for the renderer (renders.queueMu).
	queued    bool
	entityURI string // its entity, made once (renders.mu)
}

// resolveGrace covers the gap between resolving a SUBSCRIBE and sipcore
// registering it, so no change in between is skipped for it.
const resolveGrace = 5 * time.Second

// stateOnly marks the variant of a resource for watchers that may not
// pick up: occupied or not, with no call-id, tags or caller. sipcore
// sees it as a resource of its own, so each variant keeps one prepared
// body per state and only the version differs per subscription.
const stateOnly = "~state"

// blfSlot is what BLF knows of one slot.
type blfSlot struct {
	name string
	lot  *lot // its lot's config, for who may see its detail
	// lamp is what the slot shows now: replaced whole under the slot lock,
	// read by the renderer without it.
	lamp atomic.Pointer[blfLamp]
	// rendered is what the renderer made of one lamp, reused by every
	// resource that shows the slot until the lamp changes (renders.mu).
	rendered slotFragments
}

// blfLamp is one state of a slot. It is never changed once stored, so a
// render outside the slot lock reads a consistent one.
type blfLamp struct {
	presenceType string // early | confirmed | terminated, from the slot's policy
	call         *CallView
	recalling    bool
}

// newBLF builds the resources from each slot's policy (presence_type,
// presence_id) as it is now: at start-up and on every reload. Retired
// slots keep their own resource (and their presence_id) until they go.
func newBLF(lots []*lot, retired []*slot, policy func(l *lot, slot string) Policy) *blf {
	b := &blf{resources: map[string]*blfResource{}, bySlot: map[string][]*blfResource{}, slots: map[string]*blfSlot{},
		renders: newBLFRenderer()}
	addSlot := func(l *lot, name string) *blfSlot {
		pol := policy(l, name)
		bs := &blfSlot{name: name, lot: l}
		bs.lamp.Store(&blfLamp{presenceType: *pol.PresenceType})
		b.slots[name] = bs
		b.add(name, "", bs)
		if id := *pol.PresenceID; id != "" {
			user, host := splitPresenceID(id)
			b.add(user, host, bs)
		}
		return bs
	}
	for i, l := range lots {
		var lotSlots []*blfSlot
		for _, sl := range l.slots {
			lotSlots = append(lotSlots, addSlot(l, sl.name))
		}
		b.add(l.cfg.Extension, "", lotSlots...)
		if i == 0 {
			b.resources[ParkAlias] = b.resources[l.cfg.Extension]
		}
	}
	for _, sl := range retired {
		addSlot(sl.lot, sl.name)
	}
	for _, r := range b.resources {
		sort.Slice(r.slots, func(i, j int) bool { return slotLess(r.slots[i].name, r.slots[j].name) })
	}
	return b
}

// add makes slots visible under user; names shared by several sources
// (a presence_id equal to a slot number, say) show the union.
func (b *blf) add(user, host string, slots ...*blfSlot) {
	r := b.resources[user]
	if r == nil {
		r = &blfResource{key: user, user: user, host: host}
		b.resources[user] = r
	}
	for _, bs := range slots {
		if !containsSlot(r.slots, bs) {
			r.slots = append(r.slots, bs)
			b.bySlot[bs.name] = append(b.bySlot[bs.name], r)
		}
	}
}

func containsSlot(list []*blfSlot, bs *blfSlot) bool {
	for _, x := range list {
		if x == bs {
			return true
		}
	}
	return false
}

// slotLess orders slot numbers numerically when they have equal length,
// which config validation guarantees within a lot.
func slotLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// splitPresenceID reads a presence_id as Kazoo writes it: "user@realm",
// "sip:user@realm" or a bare "user".
func splitPresenceID(id string) (user, host string) {
	id = strings.TrimPrefix(strings.TrimPrefix(id, "sip:"), "sips:")
	user, host, _ = strings.Cut(id, "@")
	return user, host
}

// restrict marks the resources showing a slot of a lot for which
// restricted is true; called once, before start.
func (b *blf) restrict(restricted func(*lot) bool) {
	for _, r := range b.resources {
		r.restricted = false
		for _, bs := range r.slots {
			r.restricted = r.restricted || restricted(bs.lot)
		}
	}
}

// resolve maps a SUBSCRIBE target to its resource: the full one, or its
// state-only variant when the watcher may not see the detail of every
// lot the resource shows.
func (b *blf) resolve(target string, mayDetail func(*lot) bool) (string, bool) {
	r, ok := b.resources[target]
	if !ok {
		return "", false
	}
	if r.stale {
		r.stale = false
		b.render(r)
	}
	if b.now != nil {
		r.resolvedUntil = b.now().Add(resolveGrace)
	}
	if r.restricted {
		for _, bs := range r.slots {
			if !mayDetail(bs.lot) {
				return r.key + stateOnly, true
			}
		}
	}
	return r.key, true
}

// start publishes every resource's initial state, once the host is known.
func (b *blf) start(host string, publish func(resource, event string, body presence.Body)) {
	b.host, b.publish = host, publish
	b.renders.mu.Lock()
	defer b.renders.mu.Unlock()
	done := map[*blfResource]bool{}
	for _, r := range b.resources {
		if !done[r] {
			done[r] = true
			r.stale = false
			b.renderLocked(r)
		}
	}
}

// onEvent is the event-stream sink: it runs in event order under the
// slot-state lock, where it only stores the slot's new lamp and queues the
// watched resources that show it; the renderer makes and publishes their
// bodies after, off the lock.
func (b *blf) onEvent(ev Event) {
	bs := b.slots[ev.Slot]
	if bs == nil || b.publish == nil {
		return
	}
	lamp := *bs.lamp.Load()
	switch ev.Kind {
	case EventParked, EventRecallFailed, EventReparked, EventOverdue:
		lamp.call, lamp.recalling = ev.Call, false
	case EventRecalling:
		lamp.call, lamp.recalling = ev.Call, true
	case EventRetrieved, EventAbandoned, EventHungUp, EventRecalled, EventForwarded, EventMoved:
		lamp.call, lamp.recalling = nil, false
	case EventRemoved:
		b.removeSlot(ev.Slot)
		return
	case EventPolicy:
		if ev.Policy == nil || *ev.Policy.PresenceType == lamp.presenceType {
			return
		}
		lamp.presenceType = *ev.Policy.PresenceType
	default:
		return // subscriber counts and the like change no lamp
	}
	bs.lamp.Store(&lamp)
	for _, r := range b.bySlot[bs.name] {
		if b.watched(r) {
			r.stale = false
			b.renders.queue(b, r)
		} else {
			r.stale = true
		}
	}
}

// watched reports whether rendering r reaches anyone: a subscription to
// it (or its state-only variant), or one being set up. A lot-wide body
// lists every slot of the lot, so skipping it when nobody listens is
// most of what a park costs BLF.
func (b *blf) watched(r *blfResource) bool {
	if b.subscribers == nil {
		return true
	}
	if b.subscribers(r.key) > 0 || (r.restricted && b.subscribers(r.key+stateOnly) > 0) {
		return true
	}
	return b.now != nil && b.now().Before(r.resolvedUntil)
}

// watchers is how many subscriptions a change of slot reaches.
func (b *blf) watchers(slot string, count func(resource string) int) int {
	n := 0
	for _, r := range b.bySlot[slot] {
		n += count(r.key)
		if r.restricted {
			n += count(r.key + stateOnly)
		}
	}
	return n
}

// slotsOf lists the slots a resource shows.
func (b *blf) slotsOf(resource string) []string {
	r := b.resources[strings.TrimSuffix(resource, stateOnly)]
	if r == nil {
		return nil
	}
	out := make([]string, len(r.slots))
	for i, bs := range r.slots {
		out[i] = bs.name
	}
	return out
}
