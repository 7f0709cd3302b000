package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/clienttest"
	"github.com/parkd/parkd/sipcore/siptest"
)

// The console on a real daemon, in-process and over HTTP: real SIP calls
// park and queue, keys retrieve and park them, and the screen follows
// from the daemon's own events.
func TestConsoleOnARealDaemon(t *testing.T) {
	for _, impl := range clienttest.Clients {
		t.Run(impl.Name, func(t *testing.T) {
			alice := siptest.NewPhone(t, "alice", siptest.WithDisplay("Alice"))
			carol := siptest.NewPhone(t, "carol", siptest.WithDisplay("Carol"))
			bob := siptest.NewPhone(t, "bob", siptest.WithDisplay("Bob"))
			d := clienttest.Start(t, func(c *parkd.Config) { c.Lots[0].Operator = bob.URI() })

			m := newModel(impl.Of(d), Options{Addr: d.URL})
			t.Cleanup(m.feed.stop)
			tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
			sc := watch(tm)
			sc.wait(t, "live")

			d.Dial(alice, "700", 200, siptest.CallOptions{})
			sc.wait(t, "Alice")
			d.Dial(carol, "0", 200, siptest.CallOptions{})
			sc.wait(t, "Carol")
			sc.mark()

			// enter on 701 (selected at start) rings my phone, Bob's.
			tm.Send(keyMsg("enter"))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			in, err := bob.Incoming(ctx)
			if err != nil {
				t.Fatalf("enter did not ring my phone: %v", err)
			}
			if _, err := in.Answer(ctx); err != nil {
				t.Fatal(err)
			}
			sc.wait(t, "retrieved")

			// The queue: p, enter parks Carol in the next free slot.
			sc.mark()
			tm.Send(keyMsg("tab"))
			tm.Send(keyMsg("p"))
			tm.Send(keyMsg("enter"))
			sc.wait(t, "parked Carol in 701")
			sc.wait(t, "dequeued")
			// The daemon tells "dequeued" before "parked": the board holds
			// Carol once the lot's count in the header says so.
			sc.wait(t, "main 1/20")

			tm.Send(keyMsg("q")) // attached: quits at once
			final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*model)
			s := final.board.slots["701"]
			if s.Call == nil || s.Call.Caller.Display != "Carol" {
				t.Fatalf("701 holds %+v, want Carol", s.Call)
			}
			if s.Call.Parker == nil || s.Call.Parker.URI != bob.URI() {
				t.Errorf("Carol's parker is %+v, want my phone (the recall comes back to me)", s.Call.Parker)
			}
			if len(final.board.queue) != 0 {
				t.Errorf("the queue still shows %d calls", len(final.board.queue))
			}
			log := strings.Join(final.events.lines(), "\n")
			for _, kind := range []string{"parked", "queued", "ringing", "retrieved", "dequeued"} {
				if !strings.Contains(log, kind) {
					t.Errorf("the event log has no %q line:\n%s", kind, log)
				}
			}
		})
	}
}
