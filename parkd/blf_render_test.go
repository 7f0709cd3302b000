package parkd

import (
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/presence"
)

// What a slot's BLF body says in each state, including a ringing recall
// (which issue 4's recall machine will drive through the same renderer).
func TestBLFRender(t *testing.T) {
	caller := &CallView{CallID: "c1@pbx", LocalTag: "ptag", RemoteTag: "ctag",
		Caller: Party{Display: "Alice", URI: "sip:alice@pbx"}}
	cases := []struct {
		name         string
		presenceType string
		call         *CallView
		recalling    bool
		wantState    string // "" = no dialog
		wantLocal    string
		wantOpen     bool
		wantNote     string
	}{
		{"empty", PresenceEarly, nil, false, "", "", true, "Empty"},
		{"parked early", PresenceEarly, caller, false, "early", "Park 701", false, "Parked: Alice"},
		{"parked confirmed", PresenceConfirmed, caller, false, "confirmed", "Park 701", false, "Parked: Alice"},
		{"recall ringing blinks even when confirmed", PresenceConfirmed, caller, true, "early", "Recall 701", false, "Parked: recalling Alice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Defaults.PresenceType = &tc.presenceType
			b := newBLF(testLots(t, &cfg), nil, configPolicy(&cfg))
			bodies := map[string]presence.Body{}
			b.start("10.0.0.5", func(resource, event string, body presence.Body) {
				if resource == "701" {
					bodies[event] = body
				}
			})
			b.slots["701"].lamp.Store(&blfLamp{presenceType: tc.presenceType, call: tc.call, recalling: tc.recalling})
			b.render(b.resources["701"])

			info, err := presence.ParseDialogInfo(bodies[sipcore.EventDialog].Bytes(3))
			if err != nil {
				t.Fatal(err)
			}
			if info.Entity != "sip:701@10.0.0.5" || info.Version != 3 {
				t.Errorf("entity %q version %d, want sip:701@10.0.0.5 and 3", info.Entity, info.Version)
			}
			switch {
			case tc.wantState == "" && len(info.Dialogs) != 0:
				t.Errorf("dialogs %+v, want none", info.Dialogs)
			case tc.wantState != "":
				if len(info.Dialogs) != 1 {
					t.Fatalf("%d dialogs, want 1", len(info.Dialogs))
				}
				d := info.Dialogs[0]
				if d.State != tc.wantState || d.Local.Display != tc.wantLocal || d.Remote.Display != "Alice" ||
					d.CallID != "c1@pbx" || d.LocalTag != "ptag" || d.RemoteTag != "ctag" {
					t.Errorf("dialog %+v local %+v remote %+v; want state %s, local %q, Alice, c1@pbx ptag ctag",
						d, d.Local, d.Remote, tc.wantState, tc.wantLocal)
				}
			}
			doc, err := presence.ParsePIDF(bodies[sipcore.EventPresence].Bytes(0))
			if err != nil {
				t.Fatal(err)
			}
			if tu := doc.Tuples[0]; tu.Open != tc.wantOpen || !strings.Contains(tu.Note, tc.wantNote) {
				t.Errorf("PIDF tuple %+v, want open=%v note %q", tu, tc.wantOpen, tc.wantNote)
			}
		})
	}
}

// BenchmarkBLFRender: the bodies one slot change prepares (a park, then
// the hang-up), for all subscribers at once; restricted is a lot with
// retrieve_allow, which also prepares the state-only variant.
//
//	go test -run x -bench BLFRender -benchmem ./parkd/
func BenchmarkBLFRender(b *testing.B) {
	for _, restricted := range []bool{false, true} {
		name := map[bool]string{false: "open", true: "restricted"}[restricted]
		b.Run(name, func(b *testing.B) {
			cfg := DefaultConfig()
			bl := newBLF(testLots(b, &cfg), nil, configPolicy(&cfg))
			bl.restrict(func(*lot) bool { return restricted })
			bl.start("10.0.0.5", func(string, string, presence.Body) {})
			call := &CallView{ID: "c1", CallID: "c1@pbx", LocalTag: "ptag", RemoteTag: "ctag", Caller: Party{Display: "Alice", URI: "sip:alice@pbx"}}
			b.ReportAllocs()
			for b.Loop() {
				bl.onEvent(Event{Kind: EventParked, Slot: "701", Call: call})
				bl.renders.wait()
				bl.onEvent(Event{Kind: EventAbandoned, Slot: "701"})
				bl.renders.wait()
			}
		})
	}
}

// testLots are the lots of cfg, as the daemon builds them.
func testLots(tb testing.TB, cfg *Config) []*lot {
	tb.Helper()
	lots, err := buildLots(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return lots
}

// configPolicy is the configured policy of a slot, without live overrides.
func configPolicy(cfg *Config) func(*lot, string) Policy {
	return func(l *lot, slot string) Policy { return cfg.EffectivePolicy(l.index, slot) }
}

// Nobody watching, nothing rendered: a change to a slot nobody subscribes
// to (alone or through its lot) publishes no body, and the SUBSCRIBE that
// comes later gets the state as it is now; from its resolve on, changes
// are rendered even before sipcore has registered it.
func TestBLFRendersOnlyWatchedResources(t *testing.T) {
	cfg := DefaultConfig()
	b := newBLF(testLots(t, &cfg), nil, configPolicy(&cfg))
	watchers := map[string]int{}
	now := time.Unix(1000, 0)
	b.subscribers = func(r string) int { return watchers[r] }
	b.now = func() time.Time { return now }
	published := map[string]presence.Body{}
	b.start("10.0.0.5", func(resource, event string, body presence.Body) {
		if event == sipcore.EventDialog {
			published[resource] = body
		}
	})
	clear(published)
	call := &CallView{ID: "c1", CallID: "c1@pbx", LocalTag: "p", RemoteTag: "c", Caller: Party{URI: "sip:alice@pbx"}}

	b.onEvent(Event{Kind: EventParked, Slot: "701", Call: call})
	b.renders.wait()
	if len(published) != 0 {
		t.Fatalf("unwatched change rendered %d resources", len(published))
	}
	watchers["700"] = 1 // the lot-wide resource has a watcher now
	b.onEvent(Event{Kind: EventParked, Slot: "702", Call: call})
	b.renders.wait()
	if _, ok := published["700"]; !ok || len(published) != 1 {
		t.Fatalf("rendered %v, want the watched lot resource alone", keysOf(published))
	}

	if key, ok := b.resolve("701", func(*lot) bool { return true }); !ok || key != "701" {
		t.Fatalf("resolve 701: %q %v", key, ok)
	}
	info, err := presence.ParseDialogInfo(published["701"].Bytes(0))
	if err != nil || len(info.Dialogs) != 1 {
		t.Fatalf("701 rendered on resolve: %v %+v, want the parked call", err, info)
	}
	delete(published, "701")
	b.onEvent(Event{Kind: EventAbandoned, Slot: "701"}) // registered or not, within the grace
	b.renders.wait()
	if _, ok := published["701"]; !ok {
		t.Error("a change right after the resolve was not rendered")
	}
	delete(published, "701")
	now = now.Add(resolveGrace + time.Second)
	b.onEvent(Event{Kind: EventParked, Slot: "701", Call: call})
	b.renders.wait()
	if _, ok := published["701"]; ok {
		t.Error("rendered 701 after the grace with nobody subscribed")
	}
}

func keysOf(m map[string]presence.Body) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
