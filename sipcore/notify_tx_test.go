package sipcore

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore/presence"
)

// subscribeRaw subscribes p to slot 701 of a stats endpoint as dialog n
// and returns the NOTIFY with the state it had then.
func subscribeRaw(ctx context.Context, t *testing.T, ep *Endpoint, p *rawPeer, n int) *sip.Request {
	t.Helper()
	addr := ep.Addrs()[0].Addr
	p.send(addr, "",
		"SUBSCRIBE sip:701@"+addr+" SIP/2.0", p.via(fmt.Sprintf("sub%d", n)),
		fmt.Sprintf("From: <sip:w@%s>;tag=w%d", p.addr, n), "To: <sip:701@"+addr+">",
		fmt.Sprintf("Call-ID: notify-tx-%d", n), "CSeq: 1 SUBSCRIBE", "Contact: <sip:w@"+p.addr.String()+">",
		"Event: dialog", "Expires: 600", "Max-Forwards: 70")
	p.response(ctx, 200, sip.SUBSCRIBE)
	return nextNotify(ctx, t, p)
}

func nextNotify(ctx context.Context, t *testing.T, p *rawPeer) *sip.Request {
	t.Helper()
	for {
		if req, ok := p.next(ctx).(*sip.Request); ok && req.Method == sip.NOTIFY {
			return req
		}
	}
}

// answer replies to a NOTIFY with code, from its own headers.
func (p *rawPeer) answer(to string, req *sip.Request, code int) {
	p.t.Helper()
	res := sip.NewResponseFromRequest(req, code, "X", nil)
	dst, _ := net.ResolveUDPAddr("udp", to)
	if _, err := p.conn.WriteTo([]byte(res.String()), dst); err != nil {
		p.t.Fatal(err)
	}
}

func parked(addr string) presence.Body {
	return presence.DialogInfoBody("sip:701@"+addr, []presence.Dialog{{ID: "x", State: "confirmed"}})
}

// subscribedWithFastTimerE is an endpoint whose NOTIFYs are resent after
// 100 ms, a raw peer subscribed to slot 701, and the first NOTIFY it got
// (not answered); ctx ends with the test or after 4 s.
func subscribedWithFastTimerE(t *testing.T) (*Endpoint, context.Context, *rawPeer, *sip.Request) {
	t.Helper()
	ep, _ := newStatsEndpoint(t)
	ep.notifier.t1 = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	t.Cleanup(cancel)
	addr := ep.Addrs()[0].Addr
	ep.Publish("slot:701", EventDialog, presence.DialogInfoBody("sip:701@"+addr, nil))
	p := newRawPeer(t, "127.0.0.1")
	return ep, ctx, p, subscribeRaw(ctx, t, ep, p, 1)
}

// RFC 3261 §17.1.2.2: an unanswered NOTIFY is resent, byte for byte (same
// branch, same CSeq), after T1; once answered it is not resent, and the
// subscription lives on.
func TestOwnNotifyRetransmitsUntilAnswered(t *testing.T) {
	ep, ctx, p, first := subscribedWithFastTimerE(t)
	addr := ep.Addrs()[0].Addr
	again := nextNotify(ctx, t, p) // not answered: Timer E
	if again.String() != first.String() {
		t.Fatalf("retransmission differs:\n%s\nfirst:\n%s", again, first)
	}
	third := nextNotify(ctx, t, p) // 2·T1 later
	p.answer(addr, third, 200)
	p.silent(500 * time.Millisecond)
	if n := ep.Subscriptions(); n != 1 {
		t.Fatalf("%d subscriptions after the 200, want 1", n)
	}

	// The next change is a new transaction: next CSeq, next version.
	ep.Publish("slot:701", EventDialog, parked(addr))
	next := nextNotify(ctx, t, p)
	p.answer(addr, next, 200)
	if next.CSeq().SeqNo != first.CSeq().SeqNo+1 || branchOf(next) == branchOf(first) {
		t.Errorf("next NOTIFY CSeq %d branch %s; first %d %s", next.CSeq().SeqNo, branchOf(next),
			first.CSeq().SeqNo, branchOf(first))
	}
	info, err := presence.ParseDialogInfo(next.Body())
	if err != nil || info.Version != 1 || len(info.Dialogs) != 1 {
		t.Errorf("next NOTIFY: %v version %d dialogs %d, want version 1 with the dialog", err, info.Version, len(info.Dialogs))
	}
}

// The answer to a NOTIFY is taken as the SIP socket is read: it ends the
// transaction, and sipgo's read loop never gets it (the listener's last
// hand-over to sipgo is still the SUBSCRIBE's).
func TestNotifyAnswerTakenBeforeSipgo(t *testing.T) {
	ep, _, p, first := subscribedWithFastTimerE(t)
	handedOver := ep.stamped[0].last.Load()
	p.answer(ep.Addrs()[0].Addr, first, 200)
	eventually(t, "the NOTIFY's transaction to end", func() bool {
		ep.notifier.mu.Lock()
		defer ep.notifier.mu.Unlock()
		return len(ep.notifier.byID) == 0
	})
	if got := ep.stamped[0].last.Load(); got != handedOver {
		t.Errorf("the 200 to a NOTIFY was handed to sipgo (last arrival moved from %d to %d)", handedOver, got)
	}
	if n := ep.Subscriptions(); n != 1 {
		t.Errorf("%d subscriptions after the 200, want 1", n)
	}
}

// A 481 (or any 4xx) to a NOTIFY ends the subscription; a 1xx keeps the
// transaction waiting for its final answer.
func TestOwnNotify481EndsSubscription(t *testing.T) {
	ep, _ := newStatsEndpoint(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	addr := ep.Addrs()[0].Addr
	ep.Publish("slot:701", EventDialog, presence.DialogInfoBody("sip:701@"+addr, nil))
	p := newRawPeer(t, "127.0.0.1")
	p.answer(addr, subscribeRaw(ctx, t, ep, p, 1), 200)
	ep.Publish("slot:701", EventDialog, parked(addr))
	n := nextNotify(ctx, t, p)
	p.answer(addr, n, 100)
	time.Sleep(50 * time.Millisecond)
	if ep.Subscriptions() != 1 {
		t.Fatal("a 100 ended the subscription")
	}
	p.answer(addr, n, 481)
	eventually(t, "the subscription to end", func() bool { return ep.Subscriptions() == 0 })
	if st := ep.Stats(); st.NotifiesFailed != 1 {
		t.Errorf("NotifiesFailed %d, want 1", st.NotifiesFailed)
	}
}

// A NOTIFY nobody answers is resent by Timer E until the notify timeout
// (Timer F), which ends the subscription.
func TestOwnNotifyTimeoutEndsSubscription(t *testing.T) {
	ep, _, p, first := subscribedWithFastTimerE(t)
	eventually(t, "the subscription to time out", func() bool { return ep.Subscriptions() == 0 })
	copies := 1
	for len(p.msgs) > 0 {
		if req, ok := (<-p.msgs).(*sip.Request); ok && branchOf(req) == branchOf(first) {
			copies++
		}
	}
	// 100, 200, 400, 800 ms… within the 2 s timeout: at least 4 copies.
	if copies < 4 {
		t.Errorf("NOTIFY sent %d times before its timeout, want Timer E's retransmissions", copies)
	}
}

// 300 subscriptions behind one UDP socket with the kernel's default
// receive buffer: a change reaches each of them exactly once, before any
// retransmission (T1 is 10 s here, longer than the test waits), because
// the NOTIFYs to that socket are paced by its answers instead of written
// in one burst that overflows its buffer while its reader is busy.
func TestNotifyFanoutPacedPerDestination(t *testing.T) {
	const subs = 300
	ep, _ := newStatsEndpoint(t)
	ep.notifier.t1 = 10 * time.Second
	// Timer F at its default, not the 2 s of the other tests: a reader
	// that a loaded machine starves must not lose subscriptions to it.
	settings := ep.cfg.Settings
	settings.Subscriptions.NotifyTimeout = 32 * time.Second
	ep.Reconfigure(settings)
	addr := ep.Addrs()[0].Addr
	server := net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr))
	ep.Publish("slot:701", EventDialog, presence.DialogInfoBody("sip:701@"+addr, nil))

	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	var mu sync.Mutex
	got := map[string]int{}         // Call-ID → NOTIFYs showing the parked call
	subscribed := map[string]bool{} // Call-IDs whose SUBSCRIBE has its 200
	initial := map[string]bool{}    // Call-IDs whose first NOTIFY came
	var slow atomic.Bool
	var lastRead atomic.Int64 // UnixNano of the reader's last datagram
	all := make(chan struct{})
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			lastRead.Store(time.Now().UnixNano())
			msg, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
			if err != nil {
				continue
			}
			mu.Lock()
			switch m := msg.(type) {
			case *sip.Response:
				if m.StatusCode == 200 {
					subscribed[m.CallID().Value()] = true
				}
			case *sip.Request:
				if slow.Load() {
					time.Sleep(300 * time.Microsecond) // a busy proxy: slower than parkd writes
				}
				res := sip.NewResponseFromRequest(m, 200, "OK", nil)
				conn.WriteToUDP([]byte(res.String()), server)
				initial[m.CallID().Value()] = true
				if strings.Contains(string(m.Body()), "<dialog ") {
					got[m.CallID().Value()]++
					if len(got) == subs {
						close(all)
					}
				}
			}
			mu.Unlock()
		}
	}()
	subscribe := func(i int) {
		msg := fmt.Sprintf("SUBSCRIBE sip:701@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-pace-%d\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:w@%s>;tag=w%d\r\nTo: <sip:701@%s>\r\nCall-ID: pace-%d\r\n"+
			"CSeq: 1 SUBSCRIBE\r\nContact: <sip:w@%s>\r\nEvent: dialog\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n",
			addr, local, i, local, i, addr, i, local)
		conn.WriteToUDP([]byte(msg), server)
	}
	// Until the reader has read all there is: what it has not read yet
	// is not missing.
	quiet := func() {
		for time.Since(time.Unix(0, lastRead.Load())) < 100*time.Millisecond {
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The 200s to the SUBSCRIBEs are not paced, unlike the NOTIFYs: they
	// are asked for a few at a time, so that with the first NOTIFYs they
	// fit the reader's buffer even when a loaded machine starves it, and
	// one lost all the same is asked for again, as a UDP client's Timer E
	// would (parkd's transaction answers it again).
	for i := range subs {
		subscribe(i)
		if i%20 == 19 {
			quiet()
		}
	}
	deadline := time.Now().Add(15 * time.Second) // past T1: a lost first NOTIFY comes again
	for {
		quiet()
		mu.Lock()
		var unanswered []int
		for i := range subs {
			if !subscribed[fmt.Sprintf("pace-%d", i)] {
				unanswered = append(unanswered, i)
			}
		}
		ready := len(unanswered) == 0 && len(initial) == subs
		mu.Unlock()
		if ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d SUBSCRIBEs unanswered and %d first NOTIFYs missing after 15 s", len(unanswered), subs-len(initial))
		}
		for _, i := range unanswered {
			subscribe(i)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	slow.Store(true)
	ep.Publish("slot:701", EventDialog, presence.DialogInfoBody("sip:701@"+addr, []presence.Dialog{{ID: "p", State: "confirmed",
		Local: &presence.Identity{Display: strings.Repeat("a padded display name ", 20), URI: "sip:701@h"}}}))
	select {
	case <-all:
	case <-ctx.Done():
	}
	time.Sleep(100 * time.Millisecond) // a duplicate would show now
	mu.Lock()
	defer mu.Unlock()
	dup := 0
	for _, n := range got {
		if n > 1 {
			dup++
		}
	}
	if len(got) != subs || dup > 0 {
		t.Fatalf("%d of %d subscriptions got the change before any retransmission, %d more than once", len(got), subs, dup)
	}
}

func branchOf(m *sip.Request) string {
	b, _ := m.Via().Params.Get("branch")
	return b
}

// A NOTIFY's bytes stay its own until its transaction ends: while another
// watcher's NOTIFYs are answered and their buffers go back to the pool
// and out again, the unanswered one is still resent byte for byte.
func TestResentNotifyKeepsItsBytesWhileOthersEnd(t *testing.T) {
	ep, ctx, quiet, first := subscribedWithFastTimerE(t)
	addr := ep.Addrs()[0].Addr
	busy := newRawPeer(t, "127.0.0.1")
	busy.answer(addr, subscribeRaw(ctx, t, ep, busy, 2), 200)
	for i := range 6 {
		body := presence.DialogInfoBody("sip:701@"+addr, nil)
		if i%2 == 0 {
			body = parked(addr)
		}
		ep.Publish("slot:701", EventDialog, body)
		busy.answer(addr, nextNotify(ctx, t, busy), 200)
	}
	for range 2 {
		if again := nextNotify(ctx, t, quiet); again.String() != first.String() {
			t.Fatalf("retransmission differs:\n%s\nfirst:\n%s", again, first)
		}
	}
}
