package sipcore

import (
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A new call's handler runs on the read loop, and one that waits hands the
// socket to a new loop, within bounds: the calls behind it are answered
// meanwhile (on a loop, or past the bounds on the pool), the waiting ones
// are answered when let go, and the loops they held end, leaving one to
// read.
func TestAWaitingHandlerHandsTheSocketOver(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		taken, perSecond     int32
		waiting, wantTakenBy int
	}{
		{"within the bounds", 8, 4, 3, 3},
		{"past the loops a handler may keep", 2, 100, 4, 2},
		{"past the takeovers a second", 100, 2, 4, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oldTaken, oldRate, oldWindow := maxTakenOver, maxTakeoversPerSecond, takeoverWindow
			// An hour's window: the test never sees the count start again.
			maxTakenOver, maxTakeoversPerSecond, takeoverWindow = tc.taken, tc.perSecond, time.Hour
			t.Cleanup(func() { maxTakenOver, maxTakeoversPerSecond, takeoverWindow = oldTaken, oldRate, oldWindow })
			var log syncBuffer
			ep, h, addr := newDoorEndpoint(t, func(c *Config) {
				c.Logger = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelWarn}))
			})
			sc := ep.stamped[0]
			ctx := testCtx(t)
			invite := func(p *rawPeer, target, id string) {
				p.send(addr, testSDP, "INVITE sip:"+target+"@"+addr+" SIP/2.0", p.via(id), "From: <sip:x@127.0.0.1>;tag="+id,
					"To: <sip:"+target+"@"+addr+">", "Call-ID: "+id, "CSeq: 1 INVITE", "Contact: <sip:x@"+p.addr.String()+">",
					"Content-Type: application/sdp")
			}
			// Let the handlers go whatever happens, or their loops would
			// outlive the test.
			released := false
			t.Cleanup(func() {
				if !released {
					close(h.release)
				}
			})
			held := make([]*rawPeer, tc.waiting)
			for i := range held {
				held[i] = newRawPeer(t, "127.0.0.1")
				invite(held[i], "hold", fmt.Sprintf("held-%d", i))
				held[i].response(ctx, 180, sip.INVITE)
				receive(t, h.ringing, "the held call at its handler")
				if i < tc.wantTakenBy {
					// Each taken over before the next comes: the one after
					// it then finds the bounds as they are.
					waitFor(t, "the held call's loop taken over", func() bool { return sc.inline.takenOver.Load() == int32(i+1) })
				}
			}
			if n := sc.inline.takenOver.Load(); n != int32(tc.wantTakenBy) {
				t.Fatalf("%d loops taken over by waiting handlers, want %d", n, tc.wantTakenBy)
			}

			p := newRawPeer(t, "127.0.0.1")
			invite(p, "park", "behind")
			if res := awaitFinal(t, p, "behind"); res.StatusCode != 200 {
				t.Fatalf("the call behind the held ones: %d, want 200", res.StatusCode)
			}
			receive(t, h.calls, "the call behind")

			close(h.release)
			released = true
			for i, q := range held {
				if res := awaitFinal(t, q, fmt.Sprintf("held-%d", i)); res.StatusCode != 200 {
					t.Fatalf("held call %d once let go: %d, want 200", i, res.StatusCode)
				}
				receive(t, h.calls, "a held call")
			}
			waitFor(t, "no loop in a handler", func() bool { return sc.inline.takenOver.Load() == 0 })
			// The loops taken over end as their handlers return.
			waitFor(t, "the loops taken over to end", func() bool { return sc.loops.Load() == 1 })
			// And the one left reads.
			invite(p, "park", "after")
			if res := awaitFinal(t, p, "after"); res.StatusCode != 200 {
				t.Fatalf("a call after the loops ended: %d, want 200", res.StatusCode)
			}
			// A loop ended by parkd is nothing to log.
			if out := log.String(); out != "" {
				t.Errorf("logged:\n%s", out)
			}
		})
	}
}

// A loop that ends while another reads leaves every source its entry in
// sipgo's pool, so that sipgo answers a source's next request from the
// listener, not from a socket of its own that a phone behind NAT never
// hears: sipgo makes a source's entry again only when it differs from the
// last one its loop passed on. Two loops wait in handlers while a third
// passes a watcher's SUBSCRIBE; the first ends, more datagrams than the
// carried sources go by, the second ends, and the watcher asks again.
func TestTakenOverLoopsLeaveSourcesTheirEntries(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	sc := ep.stamped[0]
	ctx := testCtx(t)
	dst, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	watcher, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { watcher.Close() })
	subscribe := func(n int) {
		t.Helper()
		if from := subscribeToNothing(t, watcher, dst, fmt.Sprint("entries-", n)); from.String() != addr {
			t.Fatalf("SUBSCRIBE %d answered from %s, want the listener %s", n, from, addr)
		}
	}

	waiting := []*rawPeer{newRawPeer(t, "127.0.0.1"), newRawPeer(t, "127.0.0.1")}
	for i, p := range waiting {
		p.invite(addr, "linger", fmt.Sprint("linger-", i), fmt.Sprint("linger", i))
		p.response(ctx, 180, sip.INVITE)
		receive(t, h.ringing, "the lingering call at its handler")
		waitFor(t, "its loop taken over", func() bool { return sc.inline.takenOver.Load() == int32(i+1) })
	}
	subscribe(0)

	end := func(i int) {
		t.Helper()
		waiting[i].cancel(addr, "linger", fmt.Sprint("linger-", i), fmt.Sprint("linger", i))
		waiting[i].final(ctx, sip.INVITE)
		waitFor(t, "its loop to end", func() bool { return sc.loops.Load() == int32(len(waiting)-i) })
	}
	end(0)
	// Pings answered in the read filter: the sources carried over are
	// theirs now, and the watcher's is not.
	pinger, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pinger.Close() })
	for i := range restartCarry + 44 {
		ping := fmt.Sprintf("OPTIONS sip:parkd@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKping%d\r\n"+
			"From: <sip:p@127.0.0.1>;tag=p\r\nTo: <sip:parkd@%s>\r\nCall-ID: ping-%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
			addr, pinger.LocalAddr(), i, addr, i)
		if _, err := pinger.WriteTo([]byte(ping), dst); err != nil {
			t.Fatal(err)
		}
		if i%32 == 31 {
			time.Sleep(5 * time.Millisecond) // within the socket's buffers
		}
	}
	end(1)
	subscribe(1)
	subscribe(2)
}
