package parkd

import (
	"sync"

	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/presence"
)

// blfRenderer makes and publishes BLF bodies off the slot lock. One
// goroutine at a time renders (while there is work), and every render
// (queued, or synchronous for a SUBSCRIBE, a start or a removal) holds mu
// and reads each slot's lamp as it is then, so a resource's bodies are
// published in the order of its changes and a late render never publishes
// an older state after a newer one.
type blfRenderer struct {
	mu         sync.Mutex // serialises renders and their publications
	dialogInfo presence.DialogInfoWriter
	note       []byte // scratch for a PIDF note

	queueMu sync.Mutex
	idle    *sync.Cond // signalled when the worker stops (tests and benchmarks wait on it)
	pending []queuedRender
	spare   []queuedRender
	running bool
}

type queuedRender struct {
	b *blf
	r *blfResource
}

func newBLFRenderer() *blfRenderer {
	q := &blfRenderer{}
	q.idle = sync.NewCond(&q.queueMu)
	return q
}

// queue asks for r to be rendered; a resource already waiting is not
// queued twice, so a burst of changes costs one render of the latest state.
func (q *blfRenderer) queue(b *blf, r *blfResource) {
	q.queueMu.Lock()
	defer q.queueMu.Unlock()
	if r.queued {
		return
	}
	r.queued = true
	q.pending = append(q.pending, queuedRender{b, r})
	if !q.running {
		q.running = true
		go q.run()
	}
}

func (q *blfRenderer) run() {
	for {
		q.queueMu.Lock()
		batch := q.pending
		if len(batch) == 0 {
			q.running = false
			q.idle.Broadcast()
			q.queueMu.Unlock()
			return
		}
		q.pending, q.spare = q.spare[:0], nil
		for _, job := range batch {
			job.r.queued = false // a change from now on queues it again
		}
		q.queueMu.Unlock()

		q.mu.Lock()
		for _, job := range batch {
			if !job.b.closed && !job.r.gone {
				job.b.renderLocked(job.r)
			}
		}
		q.mu.Unlock()

		clear(batch)
		q.queueMu.Lock()
		q.spare = batch[:0]
		q.queueMu.Unlock()
	}
}

// wait returns once every queued render has been published.
func (q *blfRenderer) wait() {
	q.queueMu.Lock()
	defer q.queueMu.Unlock()
	for q.running {
		q.idle.Wait()
	}
}

// close drops b's renders still queued: a reload replaced it, and the
// new blf publishes every resource itself.
func (b *blf) close() {
	b.renders.mu.Lock()
	b.closed = true
	b.renders.mu.Unlock()
}

// render renders r now, on the caller's goroutine.
func (b *blf) render(r *blfResource) {
	b.renders.mu.Lock()
	defer b.renders.mu.Unlock()
	if !r.gone {
		b.renderLocked(r)
	}
}

// renderLocked publishes r's bodies; callers hold renders.mu.
func (b *blf) renderLocked(r *blfResource) {
	entity := b.entity(r)
	b.publish(r.key, sipcore.EventDialog, b.dialogInfo(r, entity, true))
	b.publish(r.key, sipcore.EventPresence, presence.PIDFBody(entity, []presence.Tuple{b.tuple(r, true)}))
	if r.restricted {
		b.publish(r.key+stateOnly, sipcore.EventDialog, b.dialogInfo(r, entity, false))
		b.publish(r.key+stateOnly, sipcore.EventPresence, presence.PIDFBody(entity, []presence.Tuple{b.tuple(r, false)}))
	}
}

func (b *blf) entity(r *blfResource) string {
	if r.entityURI == "" {
		host := r.host
		if host == "" {
			host = b.host
		}
		r.entityURI = "sip:" + r.user + "@" + host
	}
	return r.entityURI
}

func (b *blf) slotURI(bs *blfSlot) string { return "sip:" + bs.name + "@" + b.host }

// dialogInfo lists one RFC 4235 dialog per occupied slot, each element
// rendered once per lamp and copied into every body that shows it.
func (b *blf) dialogInfo(r *blfResource, entity string, detail bool) presence.Body {
	w := &b.renders.dialogInfo
	w.Start(entity)
	for _, bs := range r.slots {
		w.Append(b.fragments(bs).dialog(b, bs, detail))
	}
	return w.Body()
}

// tuple sums a resource up for PIDF phones: closed (busy) while any of its
// slots holds a call, with who is waiting in the note (without detail,
// the slot alone).
func (b *blf) tuple(r *blfResource, detail bool) presence.Tuple {
	note := append(b.renders.note[:0], "Parked: "...)
	waiting := 0
	for _, bs := range r.slots {
		f := b.fragments(bs)
		if f.lamp.call == nil {
			continue
		}
		if waiting > 0 {
			note = append(note, ", "...)
		}
		waiting++
		switch {
		case !detail:
			note = append(note, f.whoState...)
		case len(r.slots) > 1:
			note = append(note, f.whoAmong...)
		default:
			note = append(note, f.whoAlone...)
		}
	}
	b.renders.note = note
	t := presence.Tuple{ID: "park-" + r.key, Contact: b.entity(r), Open: waiting == 0, OnThePhone: waiting > 0}
	if t.Open {
		t.Note = "Empty"
	} else {
		t.Note = string(note)
	}
	return t
}

// slotFragments is what one lamp of a slot renders to, made on first use.
type slotFragments struct {
	lamp     *blfLamp
	rendered [2]bool   // dialogs[detail], dialogs[stateOnly] made
	dialogs  [2][]byte // its <dialog> element, with and without detail; nil when empty
	// Who is waiting in a PIDF note: alone in its resource, among other
	// slots, and without detail.
	whoAlone, whoAmong, whoState string
}

// fragments returns bs's fragments for its current lamp; callers hold
// renders.mu.
func (b *blf) fragments(bs *blfSlot) *slotFragments {
	f := &bs.rendered
	lamp := bs.lamp.Load()
	if f.lamp == lamp {
		return f
	}
	*f = slotFragments{lamp: lamp}
	if c := lamp.call; c != nil {
		who := c.Caller.Display
		if who == "" {
			who = c.Caller.URI
		}
		f.whoAlone, f.whoAmong, f.whoState = who, who+" ("+bs.name+")", bs.name
		prefix := ""
		switch {
		case lamp.recalling:
			prefix = "recalling "
		case c.Overdue:
			prefix = "overdue "
		}
		if prefix != "" {
			f.whoAlone, f.whoAmong, f.whoState = prefix+f.whoAlone, prefix+f.whoAmong, prefix+f.whoState
		}
	}
	return f
}

// dialog is the slot's <dialog> element: the parked call's own dialog
// identifiers, so a phone can build its pickup Replaces, and the caller as
// the remote party, so its screen says who is waiting. Without detail the
// dialog has its state and an id alone: the key still lights, but nothing
// in it lets the watcher pick up or see who is waiting.
func (f *slotFragments) dialog(b *blf, bs *blfSlot, detail bool) []byte {
	v := 0
	if !detail {
		v = 1
	}
	if f.rendered[v] {
		return f.dialogs[v]
	}
	f.rendered[v] = true
	lamp := f.lamp
	c := lamp.call
	if c == nil {
		return nil
	}
	state, local := lamp.presenceType, "Park "+bs.name
	switch {
	case lamp.recalling:
		state, local = PresenceEarly, "Recall "+bs.name
	case c.Overdue: // blinks, so someone picks up the call nobody is rung for
		state, local = PresenceEarly, "Overdue "+bs.name
	}
	d := presence.Dialog{ID: bs.name + "-" + c.LocalTag, CallID: c.CallID, LocalTag: c.LocalTag, RemoteTag: c.RemoteTag,
		Direction: "recipient", State: state,
		Local:  &presence.Identity{Display: local, URI: b.slotURI(bs)},
		Remote: &presence.Identity{Display: c.Caller.Display, URI: c.Caller.URI}}
	if !detail {
		// The usual id carries parkd's tag, half of a Replaces.
		d = presence.Dialog{ID: bs.name + "-" + c.ID, Direction: "recipient", State: state,
			Local: &presence.Identity{Display: local, URI: b.slotURI(bs)}}
	}
	f.dialogs[v] = presence.AppendDialog(nil, &d)
	return f.dialogs[v]
}
