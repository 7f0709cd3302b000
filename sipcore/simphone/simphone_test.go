package simphone_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/clienttest"
	"github.com/parkd/parkd/sipcore/simphone"
)

// speedup runs the demo's minute five times faster: the town's script
// (TimeScale) and the daemon's timers (a scaled parkd.Clock) alike.
const speedup = 5

// demoConfig is the config `parkd demo` gives its daemon: the default lot
// main (park 700, slots 701-720, retrieve *700, attendant 0) with the
// town's receptionist as operator, and a short recall policy so the first
// minute shows a recall.
func demoConfig(cfg *parkd.Config, town *simphone.Town) {
	d := func(v time.Duration) *parkd.Duration { p := parkd.Duration(v); return &p }
	cfg.Defaults.RecallAfter = d(20 * time.Second)
	cfg.Defaults.RingParkerFor = d(8 * time.Second)
	cfg.Defaults.RingGroupFor = d(8 * time.Second)
	recallTo, onFailure, maxRecalls := parkd.RecallParkerThenGroup, parkd.FailureRepark, 2
	cfg.Defaults.RecallTo = &recallTo
	cfg.Defaults.OnFailure = &onFailure
	cfg.Defaults.MaxRecalls = &maxRecalls
	cfg.Defaults.RingGroup = town.RingGroup()
	cfg.Lots[0].Operator = town.Operator()
}

func TestScriptedMinute(t *testing.T) {
	begin := time.Now()
	town, err := simphone.Start(context.Background(), simphone.Config{
		RTPPorts:  "49400-49499",
		Log:       slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		TimeScale: 1.0 / speedup,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer town.Close()
	d := clienttest.Start(t, func(cfg *parkd.Config) { demoConfig(cfg, town) }, parkd.WithClock(newFastClock(speedup)))
	if err := town.SetTarget(d.UDP); err != nil {
		t.Fatal(err)
	}
	ev := collect(t, d)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- town.Run(ctx) }()

	// The queue: Alice, then Dave. Alice is connected to the
	// receptionist's phone, as enter in the console does.
	alice := ev.wait("Alice queued", func(e parkd.Event) bool {
		return e.Kind == parkd.EventQueued && e.Call.Caller.Display == "Alice Moreau"
	})
	if _, err := d.Server.Transfer(context.Background(), alice.Call.ID, ""); err != nil {
		t.Fatalf("connecting Alice to the operator: %v", err)
	}
	ev.wait("Alice connected to Reception", func(e parkd.Event) bool {
		return e.Kind == parkd.EventDequeued && e.Call.ID == alice.Call.ID && strings.HasPrefix(e.Detail, "connected to sip:reception@")
	})
	ev.wait("Dave queued", func(e parkd.Event) bool {
		return e.Kind == parkd.EventQueued && e.Call.Caller.Display == "Dave Kim"
	})

	// Two transfers to park, each naming its parker.
	parkedBy := func(who, parker string) parkd.Event {
		return ev.wait(who+" parked by "+parker, func(e parkd.Event) bool {
			return e.Kind == parkd.EventParked && e.Call.Caller.Display == who &&
				e.Call.Parker != nil && strings.HasPrefix(e.Call.Parker.URI, "sip:"+parker+"@") && e.Call.ParkerFrom == "Referred-By"
		})
	}
	bob := parkedBy("Bob Lee", "sales")
	carol := parkedBy("Carol Diaz", "support")

	// Sales picks Bob up with *700 (he has waited longest).
	ev.wait("Bob retrieved", func(e parkd.Event) bool {
		return e.Kind == parkd.EventRetrieved && e.Slot == bob.Slot
	})

	// Carol's recall: Support rings out, then the ring group, where Back
	// office answers.
	ev.wait("Carol's recall rings Support", func(e parkd.Event) bool {
		return e.Kind == parkd.EventRecalling && e.Slot == carol.Slot && strings.HasPrefix(e.Detail, "parker sip:support@")
	})
	ev.wait("Support rings out", func(e parkd.Event) bool {
		return e.Kind == parkd.EventRecallFailed && e.Slot == carol.Slot && strings.HasPrefix(e.Detail, "parker")
	})
	ev.wait("Carol's recall rings the group", func(e parkd.Event) bool {
		return e.Kind == parkd.EventRecalling && e.Slot == carol.Slot && strings.HasPrefix(e.Detail, "ring_group ")
	})
	ev.wait("Back office answers Carol's recall", func(e parkd.Event) bool {
		return e.Kind == parkd.EventRecalled && e.Slot == carol.Slot && strings.Contains(e.Detail, "sip:backoffice@")
	})

	// Reception, Sales and Back office each talked, hearing the caller's
	// jingle through parkd's bridge, and hung up.
	deadline := time.Now().Add(10 * time.Second)
	for town.Stats().Conversations < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("conversations not over: %+v", town.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	st := town.Stats()
	// A conversation is at least 1.6 s here: 80 packets of 20 ms.
	if st.Silent != 0 || st.Heard < 3*50 {
		t.Errorf("desk phones heard too little through the bridges: %+v", st)
	}
	if st.Calls < 4 { // more once the steady pace begins (12 s in), on a slow machine
		t.Errorf("callers' calls answered = %d, want Alice, Bob, Carol and Dave's", st.Calls)
	}

	// Stopping hangs up every call the town still has (Dave, queued).
	stop()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of its context ending")
	}
	deadline = time.Now().Add(3 * time.Second)
	for {
		calls, err := d.Server.Calls(context.Background(), parkd.CallFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("parkd still has %d calls after the town stopped: %+v", len(calls), calls)
		}
		time.Sleep(20 * time.Millisecond)
	}
	town.Close()
	t.Logf("scripted minute played in %s: %+v", time.Since(begin).Round(time.Millisecond), st)
}

func TestStartErrors(t *testing.T) {
	if _, err := simphone.Start(context.Background(), simphone.Config{RTPPorts: "nope"}); err == nil {
		t.Error("bad RTP range accepted")
	}
	if _, err := simphone.Start(context.Background(), simphone.Config{RTPPorts: "49500-49519", Target: "no-port"}); err == nil {
		t.Error("target without a port accepted")
	}
	town, err := simphone.Start(context.Background(), simphone.Config{RTPPorts: "49500-49519"})
	if err != nil {
		t.Fatal(err)
	}
	defer town.Close()
	if err := town.Run(context.Background()); err == nil {
		t.Error("Run without a target did not fail")
	}
	phones := town.Phones()
	if len(phones) == 0 || town.Operator() == "" || len(town.RingGroup()) == 0 {
		t.Fatalf("phones %+v, operator %q, ring group %q", phones, town.Operator(), town.RingGroup())
	}
	for _, p := range phones {
		if !strings.HasPrefix(p.URI, "sip:"+p.Name+"@127.0.0.1:") || p.Role == "" {
			t.Errorf("phone %+v", p)
		}
	}
	town.Close()
	town.Close() // twice is fine
}

// events keeps every event the daemon emits, for waiting on in any order.
type events struct {
	t     *testing.T
	mu    sync.Mutex
	seen  []parkd.Event
	used  map[uint64]bool
	until time.Time
}

func collect(t *testing.T, d *clienttest.Daemon) *events {
	ev := &events{t: t, used: map[uint64]bool{}, until: time.Now().Add(30 * time.Second)}
	go func() {
		for e := range d.Events {
			ev.mu.Lock()
			ev.seen = append(ev.seen, e)
			ev.mu.Unlock()
		}
	}()
	return ev
}

// wait returns the first event not returned before that matches.
func (ev *events) wait(what string, match func(parkd.Event) bool) parkd.Event {
	ev.t.Helper()
	for {
		ev.mu.Lock()
		for _, e := range ev.seen {
			if !ev.used[e.Seq] && e.Call != nil && match(e) {
				ev.used[e.Seq] = true
				ev.mu.Unlock()
				return e
			}
		}
		ev.mu.Unlock()
		if time.Now().After(ev.until) {
			ev.mu.Lock()
			defer ev.mu.Unlock()
			var kinds []string
			for _, e := range ev.seen {
				kinds = append(kinds, string(e.Kind)+" "+e.Slot+" "+e.Detail)
			}
			ev.t.Fatalf("no event: %s; saw:\n%s", what, strings.Join(kinds, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fastClock is parkd's clock running k times faster than the wall clock.
type fastClock struct {
	start time.Time
	k     float64
}

func newFastClock(k float64) fastClock { return fastClock{time.Now(), k} }

func (c fastClock) Now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.start)) * c.k))
}

func (c fastClock) AfterFunc(d time.Duration, f func()) parkd.Timer {
	return time.AfterFunc(time.Duration(float64(d)/c.k), f)
}

// testWriter shows the town's log with the test's (go test -v, or on failure).
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
