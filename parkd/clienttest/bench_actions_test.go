package clienttest_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/apiclient"
	"github.com/parkd/parkd/parkd/clienttest"
	"github.com/parkd/parkd/sipcore/media"
)

// talk is how long the operator talks to a retrieved call before the
// attendant hangs it up.
const talk = 300 * time.Millisecond

// BenchmarkAPIActionsUnderSIPLoad: for 20 s, calls are parked over SIP at
// 700 at 200 calls/s (each hung up by its caller 2 s later), while an
// attendant works through the API: calls dialled to the attendant
// extension 0 are each parked (POST /calls/{id}/park into a chosen slot),
// moved (POST /slots/{slot}/move), retrieved to the operator's phone,
// which answers (POST /slots/{slot}/retrieve) and hung up (POST
// /calls/{id}/hangup): four actions per call, started at actions/4 calls
// per second. Any failed action, SIP call or missing event is an error.
// actions=200 is the target; actions=400 also gives 200 park plus
// retrieve actions per second.
func BenchmarkAPIActionsUnderSIPLoad(b *testing.B) {
	for _, rate := range []int{200, 400} {
		b.Run(fmt.Sprintf("actions=%d", rate), func(b *testing.B) {
			benchMixed(b, rate, 200, 20*time.Second, 2*time.Second, 1)
		})
	}
}

// BenchmarkAPIActionsUnderSIPLoadSmallLots is the same load with the SIP
// parks spread over ten lots of 100 slots (each overflowing into the
// next) instead of one of 1,000: a slot change then re-renders a BLF body
// of at most 100 parked calls instead of every call in the lot (about
// 400 here). The difference is what that rendering costs the API.
func BenchmarkAPIActionsUnderSIPLoadSmallLots(b *testing.B) {
	b.Run("actions=200", func(b *testing.B) { benchMixed(b, 200, 200, 20*time.Second, 2*time.Second, 10) })
}

type mixed struct {
	b     *testing.B
	d     *clienttest.Daemon
	sip   *sipClient
	api   *apiclient.Client
	slots chan string // free slots of lot api

	mu      sync.Mutex
	lat     map[string][]time.Duration // API action latency by action
	invite  []time.Duration            // park INVITE → 200
	errs    []string
	nerr    int
	actions int // actions started within the window
	parks   int // SIP parks answered 200 within the window
	end     time.Time
	waiters map[string]chan parkd.Event // by SIP Call-ID
}

// benchMixed: SIP parks into slots 1000–1999 (sipLots lots, the first at
// extension 700), the attendant's calls in lot api (2000–2999).
func benchMixed(b *testing.B, actionRate, sipRate int, window, hold time.Duration, sipLots int) {
	sip := newSIPClient(b, 4)
	operator := "sip:operator@" + sip.conns[0].LocalAddr().String()
	d := startBench(b, sip, func(cfg *parkd.Config) {
		cfg.Lots = nil
		size := 1000 / sipLots
		for i := range sipLots {
			l := parkd.DefaultLot()
			l.Name, l.Extension, l.RetrieveExtension, l.AttendantExtension = fmt.Sprintf("sip%d", i), strconv.Itoa(700+i), "", ""
			l.Slots = fmt.Sprintf("%d-%d", 1000+i*size, 999+(i+1)*size)
			if i+1 < sipLots {
				l.WhenFull = fmt.Sprintf("overflow:sip%d", i+1)
			}
			cfg.Lots = append(cfg.Lots, l)
		}
		a := parkd.DefaultLot()
		a.Name, a.Extension, a.RetrieveExtension, a.Slots, a.AttendantExtension = "api", "800", "", "2000-2999", "0"
		a.QueueMax, a.Operator = 1000, operator
		cfg.Lots = append(cfg.Lots, a)
	})
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}
	b.Cleanup(hc.CloseIdleConnections)
	api, err := apiclient.New(d.URL, d.Token, apiclient.WithHTTPClient(hc))
	if err != nil {
		b.Fatal(err)
	}
	m := &mixed{b: b, d: d, sip: sip, api: api, slots: make(chan string, 1000),
		lat: map[string][]time.Duration{}, waiters: map[string]chan parkd.Event{}}
	for i := 2000; i <= 2999; i++ {
		m.slots <- strconv.Itoa(i)
	}
	// The attendant's console: one SSE stream tells each call its API id
	// and when its retrieve was answered.
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	events, err := api.Subscribe(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	go m.route(ctx, events)

	fds, kept := openFDs(), media.KeptSockets()
	start := time.Now()
	m.end = start.Add(window)
	var wg sync.WaitGroup
	pace := func(rate int, fn func()) {
		defer wg.Done()
		every := time.Second / time.Duration(rate)
		for k := 0; ; k++ {
			at := start.Add(time.Duration(k) * every)
			if !at.Before(m.end) {
				return
			}
			time.Sleep(time.Until(at))
			wg.Add(1)
			go func() { defer wg.Done(); fn() }()
		}
	}
	wg.Add(2)
	go pace(sipRate, func() { m.sipPark(hold) })
	go pace(actionRate/4, m.cycle)
	b.ResetTimer()
	cpu := startCPU()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(window + 30*time.Second):
		b.Fatal("the load did not finish within 30 s of its window")
	}
	b.StopTimer()
	cpu.report(b)

	// Everything ended: nothing may be left in parkd.
	var left parkd.Status
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if left, err = d.Server.Status(context.Background()); err != nil || left.Calls == 0 || time.Now().After(deadline) {
			break
		}
	}
	if left.Calls != 0 {
		m.fail("%d calls left in parkd after every call ended", left.Calls)
	}
	for _, l := range left.Lots {
		if l.Used != 0 || l.Queued != 0 {
			m.fail("lot %s: %d slots used, %d calls queued after every call ended", l.Name, l.Used, l.Queued)
		}
	}
	if n := sip.active(); n != 0 {
		m.fail("%d SIP dialogs still up at the client", n)
	}
	// Every RTP socket was closed or kept idle for its port's next call:
	// beside those kept, the process has the descriptors it had before the
	// load (keep-alive connections closed first).
	hc.CloseIdleConnections()
	time.Sleep(200 * time.Millisecond)
	if left := openFDs() - fds - (media.KeptSockets() - kept); fds > 0 && left > 0 {
		m.fail("%d more file descriptors open than before the load", left)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	var all []time.Duration
	for _, kind := range []string{"park", "move", "retrieve", "hangup"} {
		all = append(all, m.lat[kind]...)
		if len(m.lat[kind]) > 0 {
			b.ReportMetric(q99(m.lat[kind]), kind+"-p99-ms")
		}
	}
	b.ReportMetric(float64(m.actions)/window.Seconds(), "actions/s")
	b.ReportMetric(float64(m.parks)/window.Seconds(), "sip-parks/s")
	reportMs(b, "api-", all)
	if len(m.invite) > 0 {
		b.ReportMetric(q99(m.invite), "sip-200-p99-ms")
	}
	b.ReportMetric(float64(m.nerr), "errors")
	b.ReportMetric(float64(sip.retrans.Load()), "sip-retrans")
	// The same figures, in case parkd logged an ERROR and the benchmark
	// fails without its metrics line.
	b.Logf("%d API actions started in %s (%.1f/s), %d SIP parks answered (%.1f/s), API p50 %.2f ms p99 %.2f ms, park INVITE→200 p99 %.2f ms, %d errors, %d retransmissions",
		m.actions, window, float64(m.actions)/window.Seconds(), m.parks, float64(m.parks)/window.Seconds(),
		quantile(all, 0.5), quantile(all, 0.99), q99(m.invite), m.nerr, sip.retrans.Load())
	for _, e := range m.errs {
		b.Log(e)
	}
	if m.nerr > 0 {
		b.Errorf("%d errors", m.nerr)
	}
}

func (m *mixed) fail(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nerr++
	if len(m.errs) < 20 {
		m.errs = append(m.errs, fmt.Sprintf(format, args...))
	}
}

// sipPark parks one call at 700 and hangs it up after hold.
func (m *mixed) sipPark(hold time.Duration) {
	call := m.sip.prepare("700")
	m.sip.send(call)
	if !call.waitAnswered(5*time.Second) || call.status != 200 {
		m.fail("SIP park: status %d", call.status)
		m.sip.forget(call)
		return
	}
	m.mu.Lock()
	m.invite = append(m.invite, call.t200.Sub(call.sent))
	if call.t200.Before(m.end) {
		m.parks++
	}
	m.mu.Unlock()
	time.Sleep(hold)
	m.sip.bye(call)
	if !call.waitEnded(5 * time.Second) {
		m.fail("SIP park: BYE not answered")
	}
}

// cycle is one attendant call: queued, parked, moved, retrieved, hung up.
func (m *mixed) cycle() {
	call := m.sip.prepare("0")
	evs := m.watch(call.id)
	defer m.unwatch(call.id)
	m.sip.send(call)
	if !call.waitAnswered(5*time.Second) || call.status != 200 {
		m.fail("attendant INVITE: status %d", call.status)
		m.sip.forget(call)
		return
	}
	ev, ok := m.await(evs, parkd.EventQueued)
	if !ok {
		m.sip.bye(call)
		return
	}
	id := ev.Call.ID
	ctx := context.Background()
	hangup := func() {
		m.action("hangup", func() error { _, err := m.api.Hangup(ctx, id); return err })
		if !call.waitEnded(5 * time.Second) {
			m.fail("hangup: the caller got no BYE within 5 s")
		}
	}

	slot := <-m.slots
	if m.action("park", func() error { _, err := m.api.Park(ctx, id, parkd.ParkRequest{Slot: slot}); return err }) != nil {
		m.slots <- slot
		hangup()
		return
	}
	to := <-m.slots
	if m.action("move", func() error { _, err := m.api.Move(ctx, slot, to); return err }) != nil {
		m.slots <- to
	} else {
		m.slots <- slot
		slot = to
	}
	if m.action("retrieve", func() error { _, err := m.api.Retrieve(ctx, slot, parkd.RetrieveRequest{}); return err }) == nil {
		m.await(evs, parkd.EventRetrieved)
		// The operator talks to the caller a moment before hanging up.
		// (Hanging up at once races parkd's bridge set-up, which then
		// logs an ERROR: see docs/PERFORMANCE.md.)
		time.Sleep(talk)
	}
	hangup()
	m.slots <- slot
}

// action runs one API action and records its latency, or its error.
func (m *mixed) action(kind string, fn func() error) error {
	t0 := time.Now()
	err := fn()
	took := time.Since(t0)
	if err != nil {
		m.fail("%s: %v", kind, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lat[kind] = append(m.lat[kind], took)
	if t0.Before(m.end) {
		m.actions++
	}
	return err
}

func (m *mixed) watch(callID string) chan parkd.Event {
	ch := make(chan parkd.Event, 64)
	m.mu.Lock()
	m.waiters[callID] = ch
	m.mu.Unlock()
	return ch
}

func (m *mixed) unwatch(callID string) {
	m.mu.Lock()
	delete(m.waiters, callID)
	m.mu.Unlock()
}

func (m *mixed) route(ctx context.Context, events <-chan parkd.Event) {
	for ev := range events {
		if ev.Call == nil {
			continue
		}
		m.mu.Lock()
		ch := m.waiters[ev.Call.CallID]
		m.mu.Unlock()
		if ch != nil {
			select {
			case ch <- ev:
			default:
				m.fail("event router: waiter of %s full", ev.Call.CallID)
			}
		}
	}
	if ctx.Err() == nil {
		m.fail("the attendant's event stream ended")
	}
}

// await reads the call's events until one of kind.
func (m *mixed) await(evs chan parkd.Event, kind parkd.EventKind) (parkd.Event, bool) {
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-evs:
			if ev.Kind == kind {
				return ev, true
			}
		case <-timeout:
			m.fail("no %s event within 5 s", kind)
			return parkd.Event{}, false
		}
	}
}

// -------------------------------------------------------------- reporting
