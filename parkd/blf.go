package parkd

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/parkd/parkd/sipcore"
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
	name         string
	lot          *lot   // its lot's config, for who may see its detail
	presenceType string // early | confirmed | terminated, from the slot's policy
	call         *CallView
	recalling    bool
}

// newBLF builds the resources from each slot's policy (presence_type,
// presence_id) as it is now: at start-up and on every reload. Retired
// slots keep their own resource (and their presence_id) until they go.
func newBLF(lots []*lot, retired []*slot, policy func(l *lot, slot string) Policy) *blf {
	b := &blf{resources: map[string]*blfResource{}, bySlot: map[string][]*blfResource{}, slots: map[string]*blfSlot{}}
	addSlot := func(l *lot, name string) *blfSlot {
		pol := policy(l, name)
		bs := &blfSlot{name: name, lot: l, presenceType: *pol.PresenceType}
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
	done := map[*blfResource]bool{}
	for _, r := range b.resources {
		if !done[r] {
			done[r] = true
			b.render(r)
		}
	}
}

// onEvent is the event-stream sink: it runs in event order under the
// slot-state lock, and Publish only hands the bodies to a fan-out.
func (b *blf) onEvent(ev Event) {
	bs := b.slots[ev.Slot]
	if bs == nil || b.publish == nil {
		return
	}
	switch ev.Kind {
	case EventParked, EventRecallFailed, EventReparked, EventOverdue:
		bs.call, bs.recalling = ev.Call, false
	case EventRecalling:
		bs.call, bs.recalling = ev.Call, true
	case EventRetrieved, EventAbandoned, EventHungUp, EventRecalled, EventForwarded, EventMoved:
		bs.call, bs.recalling = nil, false
	case EventRemoved:
		b.removeSlot(ev.Slot)
		return
	case EventPolicy:
		if ev.Policy == nil || *ev.Policy.PresenceType == bs.presenceType {
			return
		}
		bs.presenceType = *ev.Policy.PresenceType
	default:
		return // subscriber counts and the like change no lamp
	}
	for _, r := range b.bySlot[bs.name] {
		if b.watched(r) {
			b.render(r)
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

func (b *blf) render(r *blfResource) {
	r.stale = false
	b.publish(r.key, sipcore.EventDialog, presence.DialogInfoBody(b.entity(r), b.dialogs(r, true)))
	b.publish(r.key, sipcore.EventPresence, presence.PIDFBody(b.entity(r), []presence.Tuple{b.tuple(r, true)}))
	if r.restricted {
		b.publish(r.key+stateOnly, sipcore.EventDialog, presence.DialogInfoBody(b.entity(r), b.dialogs(r, false)))
		b.publish(r.key+stateOnly, sipcore.EventPresence, presence.PIDFBody(b.entity(r), []presence.Tuple{b.tuple(r, false)}))
	}
}

func (b *blf) entity(r *blfResource) string {
	host := r.host
	if host == "" {
		host = b.host
	}
	return "sip:" + r.user + "@" + host
}

func (b *blf) slotURI(bs *blfSlot) string { return "sip:" + bs.name + "@" + b.host }

// dialogs lists one RFC 4235 dialog per occupied slot: the parked call's
// own dialog identifiers, so a phone can build its pickup Replaces, and the
// caller as the remote party, so its screen says who is waiting. Without
// detail the dialog has its state and an id alone: the key still lights,
// but nothing in it lets the watcher pick up or see who is waiting.
func (b *blf) dialogs(r *blfResource, detail bool) []presence.Dialog {
	var out []presence.Dialog
	for _, bs := range r.slots {
		c := bs.call
		if c == nil {
			continue
		}
		state, local := bs.presenceType, "Park "+bs.name
		switch {
		case bs.recalling:
			state, local = PresenceEarly, "Recall "+bs.name
		case c.Overdue: // blinks, so someone picks up the call nobody is rung for
			state, local = PresenceEarly, "Overdue "+bs.name
		}
		if !detail {
			// The usual id carries parkd's tag, half of a Replaces.
			out = append(out, presence.Dialog{ID: bs.name + "-" + c.ID, Direction: "recipient", State: state,
				Local: &presence.Identity{Display: local, URI: b.slotURI(bs)}})
			continue
		}
		out = append(out, presence.Dialog{
			ID:        bs.name + "-" + c.LocalTag,
			CallID:    c.CallID,
			LocalTag:  c.LocalTag,
			RemoteTag: c.RemoteTag,
			Direction: "recipient",
			State:     state,
			Local:     &presence.Identity{Display: local, URI: b.slotURI(bs)},
			Remote:    &presence.Identity{Display: c.Caller.Display, URI: c.Caller.URI},
		})
	}
	return out
}

// tuple sums a resource up for PIDF phones: closed (busy) while any of its
// slots holds a call, with who is waiting in the note (without detail,
// the slot alone).
func (b *blf) tuple(r *blfResource, detail bool) presence.Tuple {
	var waiting []string
	for _, bs := range r.slots {
		if bs.call == nil {
			continue
		}
		who := bs.call.Caller.Display
		if who == "" {
			who = bs.call.Caller.URI
		}
		switch {
		case !detail:
			who = bs.name
		case len(r.slots) > 1:
			who = fmt.Sprintf("%s (%s)", who, bs.name)
		}
		switch {
		case bs.recalling:
			who = "recalling " + who
		case bs.call.Overdue:
			who = "overdue " + who
		}
		waiting = append(waiting, who)
	}
	t := presence.Tuple{ID: "park-" + r.key, Contact: b.entity(r), Open: len(waiting) == 0, OnThePhone: len(waiting) > 0}
	if t.Open {
		t.Note = "Empty"
	} else {
		t.Note = "Parked: " + strings.Join(waiting, ", ")
	}
	return t
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
