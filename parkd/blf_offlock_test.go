package parkd

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/presence"
)

// Renders run off the slot lock, on the renderer's goroutine, while the
// slot owner keeps changing slots: every resource's publications still go
// forward (each shows a later park than the one before) and the last one
// shows the last park.
func TestBLFOffLockRenderNeverPublishesOlderState(t *testing.T) {
	cfg := DefaultConfig()
	b := newBLF(testLots(t, &cfg), nil, configPolicy(&cfg))
	var mu sync.Mutex
	seen := map[string][]int{} // resource → index of the call each dialog body shows
	b.start("10.0.0.5", func(resource, event string, body presence.Body) {
		if event != sipcore.EventDialog || (resource != "701" && resource != "700") {
			return
		}
		info, err := presence.ParseDialogInfo(body.Bytes(0))
		if err != nil {
			t.Error(err)
			return
		}
		n := -1
		for _, d := range info.Dialogs {
			if strings.HasPrefix(d.ID, "701-") {
				fmt.Sscanf(d.CallID, "c%d@pbx", &n)
			}
		}
		mu.Lock()
		seen[resource] = append(seen[resource], n)
		mu.Unlock()
	})
	const changes = 2000
	for i := range changes {
		call := &CallView{ID: fmt.Sprint(i), CallID: fmt.Sprintf("c%d@pbx", i), LocalTag: "p", Caller: Party{URI: "sip:a@pbx"}}
		b.onEvent(Event{Kind: EventParked, Slot: "701", Call: call})
		if i%3 == 0 {
			b.onEvent(Event{Kind: EventParked, Slot: "702", Call: call}) // another slot of the lot
		}
	}
	b.renders.wait()
	mu.Lock()
	defer mu.Unlock()
	for _, resource := range []string{"701", "700"} {
		got := seen[resource]
		for i := 1; i < len(got); i++ {
			if got[i] < got[i-1] {
				t.Fatalf("%s: published call %d after call %d", resource, got[i], got[i-1])
			}
		}
		if len(got) == 0 || got[len(got)-1] != changes-1 {
			t.Errorf("%s: last body shows call %v, want %d", resource, got, changes-1)
		}
	}
}

// A lot-wide body built from cached per-slot elements is byte for byte the
// body rendered from scratch, after changes to a few of its slots, in both
// variants and in PIDF.
func TestBLFLotBodyFromFragmentsIsTheFullRender(t *testing.T) {
	cfg := DefaultConfig()
	b := newBLF(testLots(t, &cfg), nil, configPolicy(&cfg))
	b.restrict(func(*lot) bool { return true })
	bodies := map[string]presence.Body{}
	b.start("10.0.0.5", func(resource, event string, body presence.Body) {
		bodies[resource+"/"+event] = body
	})
	alice := &CallView{ID: "c1", CallID: "c1@pbx", LocalTag: "p1", RemoteTag: "r1", Caller: Party{Display: `Alice "A" & co`, URI: "sip:alice@pbx"}}
	bob := &CallView{ID: "c2", CallID: "c2@pbx", LocalTag: "p2", RemoteTag: "r2", Caller: Party{URI: "sip:bob@pbx"}, Overdue: true}
	b.onEvent(Event{Kind: EventParked, Slot: "701", Call: alice})
	b.onEvent(Event{Kind: EventParked, Slot: "703", Call: bob})
	b.onEvent(Event{Kind: EventRecalling, Slot: "702", Call: alice})
	b.onEvent(Event{Kind: EventAbandoned, Slot: "702"})
	b.onEvent(Event{Kind: EventRecalling, Slot: "704", Call: alice})
	b.renders.wait()

	r := b.resources["700"]
	for _, detail := range []bool{true, false} {
		key := "700"
		if !detail {
			key += stateOnly
		}
		entity := "sip:700@10.0.0.5"
		want := presence.DialogInfoBody(entity, referenceDialogs(b, r, detail))
		if got := bodies[key+"/"+sipcore.EventDialog]; string(got.Bytes(9)) != string(want.Bytes(9)) {
			t.Errorf("%s dialog-info:\n%s\nwant\n%s", key, got.Bytes(9), want.Bytes(9))
		}
		wantPIDF := presence.PIDFBody(entity, []presence.Tuple{referenceTuple(b, r, detail)})
		if got := bodies[key+"/"+sipcore.EventPresence]; string(got.Bytes(0)) != string(wantPIDF.Bytes(0)) {
			t.Errorf("%s PIDF:\n%s\nwant\n%s", key, got.Bytes(0), wantPIDF.Bytes(0))
		}
	}
}

// referenceDialogs is how BLF rendered a resource before it cached
// elements: every slot, every time.
func referenceDialogs(b *blf, r *blfResource, detail bool) []presence.Dialog {
	var out []presence.Dialog
	for _, bs := range r.slots {
		lamp := bs.lamp.Load()
		c := lamp.call
		if c == nil {
			continue
		}
		state, local := lamp.presenceType, "Park "+bs.name
		switch {
		case lamp.recalling:
			state, local = PresenceEarly, "Recall "+bs.name
		case c.Overdue:
			state, local = PresenceEarly, "Overdue "+bs.name
		}
		if !detail {
			out = append(out, presence.Dialog{ID: bs.name + "-" + c.ID, Direction: "recipient", State: state,
				Local: &presence.Identity{Display: local, URI: b.slotURI(bs)}})
			continue
		}
		out = append(out, presence.Dialog{ID: bs.name + "-" + c.LocalTag, CallID: c.CallID, LocalTag: c.LocalTag,
			RemoteTag: c.RemoteTag, Direction: "recipient", State: state,
			Local:  &presence.Identity{Display: local, URI: b.slotURI(bs)},
			Remote: &presence.Identity{Display: c.Caller.Display, URI: c.Caller.URI}})
	}
	return out
}

func referenceTuple(b *blf, r *blfResource, detail bool) presence.Tuple {
	var waiting []string
	for _, bs := range r.slots {
		lamp := bs.lamp.Load()
		if lamp.call == nil {
			continue
		}
		who := lamp.call.Caller.Display
		if who == "" {
			who = lamp.call.Caller.URI
		}
		switch {
		case !detail:
			who = bs.name
		case len(r.slots) > 1:
			who = fmt.Sprintf("%s (%s)", who, bs.name)
		}
		switch {
		case lamp.recalling:
			who = "recalling " + who
		case lamp.call.Overdue:
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
