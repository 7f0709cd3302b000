package clienttest_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/apiclient"
	"github.com/parkd/parkd/parkd/clienttest"
)

// The HTTP API benchmarks of issue 9 ("Speed") run a real daemon in the
// test process (clienttest.Start: SIP on 127.0.0.1, the API on loopback)
// and place calls with a raw-UDP SIP client written here: INVITE, ACK,
// BYE and the 200s to parkd's requests are written by hand from the
// messages' own headers, so a thousand calls cost the client almost
// nothing. Commands and figures: docs/PERFORMANCE.md, "HTTP API (issue 9)".
//
//	go test -run x -bench APISlots1000 -benchtime 2000x ./parkd/clienttest/
//	go test -run x -bench APIEventFanout -benchtime 200x ./parkd/clienttest/
//	go test -run x -bench APIActionsUnderSIPLoad -benchtime 1x ./parkd/clienttest/
//
// or bench/api_bench.sh for three runs of each on a quiet machine.

// benchRTPPorts gives the daemon 2,000 RTP ports (even ones only), clear
// of the ranges every test and bench/park_load.sh use.
const benchRTPPorts = "50000-53999"

// startBench runs a daemon for a benchmark: no RTP timeout (the raw client
// sends no audio), recalls an hour away, and the lots edit sets.
func startBench(b *testing.B, sip *sipClient, lots func(*parkd.Config)) *clienttest.Daemon {
	d := clienttest.Start(b, func(cfg *parkd.Config) {
		cfg.RTP.Ports = benchRTPPorts
		cfg.RTP.Timeout = 0
		hour := parkd.Duration(time.Hour)
		cfg.Defaults.RecallAfter = &hour
		lots(cfg)
	})
	// Daemon.Events is a buffered subscription nobody reads here: drain it
	// so parkd does not log a dropped event per change.
	go func() {
		for range d.Events {
		}
	}()
	sip.connect(b, d.UDP)
	// Stop the daemon before the client's sockets close (cleanups run last
	// registered first), so the BYEs of its shutdown are answered.
	b.Cleanup(d.Shutdown)
	return d
}

// oneLot is a lot of 1,000 slots, 1000–1999, parked into at 700.
func oneLot(cfg *parkd.Config) {
	l := parkd.DefaultLot()
	l.Name, l.Extension, l.RetrieveExtension, l.Slots = "bench", "700", "", "1000-1999"
	l.AttendantExtension = ""
	cfg.Lots = []parkd.LotConfig{l}
}

// ------------------------------------------------ 1. GET /slots, 1,000 parked

// BenchmarkAPISlots1000: GET /api/v1/slots with all 1,000 slots of a lot
// occupied by real parked calls, one request at a time over a kept-alive
// connection. "http" reads the whole body; "apiclient" is apiclient.Slots,
// which also decodes it. Under "moh" parkd plays music on hold to every
// call (50,000 packets a second); under "silent" the calls offered
// a=inactive, so the figure shows the API alone.
func BenchmarkAPISlots1000(b *testing.B) {
	for _, media := range []string{"moh", "silent"} {
		b.Run(media, func(b *testing.B) {
			sip := newSIPClient(b, 4)
			if media == "silent" {
				sip.direction = "inactive"
			}
			d := startBench(b, sip, oneLot)
			sip.parkMany(b, "700", 1000)
			lots, err := d.Server.Lots(context.Background())
			if err != nil || lots[0].Used != 1000 {
				b.Fatalf("lots %+v, %v: want 1,000 slots used", lots, err)
			}
			b.Run("http", func(b *testing.B) { benchSlotsHTTP(b, d) })
			if media == "moh" {
				b.Run("apiclient", func(b *testing.B) { benchSlotsClient(b, d) })
			}
		})
	}
}

func benchSlotsHTTP(b *testing.B, d *clienttest.Daemon) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest("GET", d.URL+"/api/v1/slots", nil)
	req.Header.Set("Authorization", "Bearer "+d.Token)
	lat := make([]time.Duration, 0, b.N)
	var size int64
	b.ResetTimer()
	cpu := startCPU()
	for range b.N {
		t0 := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("GET /slots: %d %v", resp.StatusCode, err)
		}
		size = n
	}
	b.StopTimer()
	cpu.report(b)
	reportMs(b, "", lat)
	b.ReportMetric(quantile(lat, 0.9), "p90-ms")
	b.ReportMetric(float64(size)/1024, "KiB/resp")
}

func benchSlotsClient(b *testing.B, d *clienttest.Daemon) {
	c, err := apiclient.New(d.URL, d.Token)
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	cpu := startCPU()
	for range b.N {
		t0 := time.Now()
		slots, err := c.Slots(context.Background(), parkd.SlotFilter{})
		lat = append(lat, time.Since(t0))
		if err != nil || len(slots) != 1000 || slots[999].Call == nil {
			b.Fatalf("Slots: %d slots, %v", len(slots), err)
		}
	}
	b.StopTimer()
	cpu.report(b)
	reportMs(b, "", lat)
}

// ----------------------------------------- 2. one event to 100 SSE clients

// BenchmarkAPIEventFanout: 100 clients on GET /api/v1/events; each
// iteration parks a call over SIP and then hangs it up. "park" is the time
// from the SIP client reading the 200 to the INVITE until the last of the
// 100 clients has the call's parked event (p50/p99 over iterations);
// "park-each" counts every client's delivery separately; "bye" is the same
// for the abandoned event after the 200 to the caller's BYE. "apiclient"
// reads with apiclient.Subscribe (SSE parsed, JSON decoded); "raw" reads
// the stream's lines and only picks the kind and call_id out of them, so
// less of the two cores goes to the clients.
func BenchmarkAPIEventFanout(b *testing.B) {
	for _, mode := range []string{"apiclient", "raw"} {
		b.Run(mode+"/clients=100", func(b *testing.B) { benchFanout(b, mode, 100) })
	}
}

func benchFanout(b *testing.B, mode string, clients int) {
	sip := newSIPClient(b, 2)
	d := startBench(b, sip, oneLot)
	f := &fanout{got: make([]time.Time, clients)}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	var ready sync.WaitGroup
	for i := range clients {
		ready.Add(1)
		switch mode {
		case "apiclient":
			c, err := apiclient.New(d.URL, d.Token)
			if err != nil {
				b.Fatal(err)
			}
			ch, err := c.Subscribe(ctx, 0)
			if err != nil {
				b.Fatal(err)
			}
			go func() {
				ready.Done()
				for ev := range ch {
					if ev.Call != nil {
						f.saw(i, string(ev.Kind), ev.Call.CallID, time.Now())
					}
				}
			}()
		case "raw":
			body := openSSE(b, ctx, d)
			go func() {
				ready.Done()
				readRawSSE(body, func(kind, callID string) { f.saw(i, kind, callID, time.Now()) })
			}()
		}
	}
	ready.Wait()
	time.Sleep(200 * time.Millisecond) // every stream is past its first flush

	var park, parkEach, bye []time.Duration
	b.ResetTimer()
	cpu := startCPU()
	for range b.N {
		call := sip.prepare("700")
		f.arm(call.id, string(parkd.EventParked))
		sip.send(call)
		if !call.waitAnswered(5*time.Second) || call.status != 200 {
			b.Fatalf("park INVITE: status %d", call.status)
		}
		last, each := f.wait(b, call.t200)
		park, parkEach = append(park, last), append(parkEach, each...)

		f.arm(call.id, string(parkd.EventAbandoned))
		sip.bye(call)
		if !call.waitEnded(5 * time.Second) {
			b.Fatal("BYE not answered")
		}
		last, _ = f.wait(b, call.byeOK)
		bye = append(bye, last)
	}
	b.StopTimer()
	cpu.report(b)
	reportMs(b, "park-", park)
	reportMs(b, "park-each-", parkEach)
	reportMs(b, "bye-", bye)
}

// fanout collects the arrival of one expected event at every client.
type fanout struct {
	mu     sync.Mutex
	callID string
	kind   string
	got    []time.Time
	n      int
	done   chan struct{}
}

func (f *fanout) arm(callID, kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.callID, f.kind, f.n, f.done = callID, kind, 0, make(chan struct{})
	clear(f.got)
}

func (f *fanout) saw(i int, kind, callID string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done == nil || kind != f.kind || callID != f.callID || !f.got[i].IsZero() {
		return
	}
	f.got[i] = now
	if f.n++; f.n == len(f.got) {
		close(f.done)
	}
}

// wait returns the last arrival and every arrival, after from.
func (f *fanout) wait(b *testing.B, from time.Time) (time.Duration, []time.Duration) {
	f.mu.Lock()
	done := f.done
	f.mu.Unlock()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		f.mu.Lock()
		defer f.mu.Unlock()
		b.Fatalf("%s of %s reached %d of %d clients within 5 s", f.kind, f.callID, f.n, len(f.got))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	each := make([]time.Duration, len(f.got))
	var last time.Duration
	for i, t := range f.got {
		each[i] = t.Sub(from)
		last = max(last, each[i])
	}
	return last, each
}

func openSSE(b *testing.B, ctx context.Context, d *clienttest.Daemon) io.ReadCloser {
	req, _ := http.NewRequestWithContext(ctx, "GET", d.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+d.Token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b.Fatalf("GET /events: %d", resp.StatusCode)
	}
	b.Cleanup(func() { resp.Body.Close() })
	return resp.Body
}

// readRawSSE calls seen with the kind and call_id of every data line.
func readRawSSE(r io.Reader, seen func(kind, callID string)) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			seen(jsonField(data, `"kind":"`), jsonField(data, `"call_id":"`))
		}
	}
}

func jsonField(data []byte, key string) string {
	_, rest, ok := bytes.Cut(data, []byte(key))
	if !ok {
		return ""
	}
	v, _, _ := bytes.Cut(rest, []byte(`"`))
	return string(v)
}

// ----------------------------- 3. API actions while SIP parks at 200 calls/s

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

	fds := openFDs()
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
	// Every RTP socket was closed: the process has the descriptors it had
	// before the load (keep-alive connections closed first).
	hc.CloseIdleConnections()
	time.Sleep(200 * time.Millisecond)
	if left := openFDs() - fds; fds > 0 && left > 0 {
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

// cpuWatch measures, over a benchmark's timed part, the CPU this process
// used (daemon and clients together) and what every other process on the
// machine used, both in % of one core: a shared VM's neighbours show up
// in the second figure, so a noisy run can be told from a slow daemon.
type cpuWatch struct {
	busy, self uint64 // clock ticks
	at         time.Time
}

func startCPU() cpuWatch {
	busy, self := cpuTicks()
	return cpuWatch{busy: busy, self: self, at: time.Now()}
}

func (w cpuWatch) report(b *testing.B) {
	busy, self := cpuTicks()
	if busy == 0 || self == 0 {
		return // not Linux
	}
	secs := time.Since(w.at).Seconds() * 100 // USER_HZ ticks in the run
	others := float64(busy-w.busy) - float64(self-w.self)
	b.ReportMetric(float64(self-w.self)/secs*100, "self-cpu%")
	b.ReportMetric(max(others, 0)/secs*100, "others-cpu%")
}

// openFDs counts this process's open file descriptors (0 if unknown).
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(entries)
}

// cpuTicks reads the machine's busy ticks (/proc/stat) and this
// process's (/proc/self/stat utime+stime).
func cpuTicks() (busy, self uint64) {
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		f := strings.Fields(line)
		for i, v := range f[1:] {
			if n, err := strconv.ParseUint(v, 10, 64); err == nil && i != 3 && i != 4 && i < 8 { // not idle, iowait, guest
				busy += n
			}
		}
	}
	if data, err := os.ReadFile("/proc/self/stat"); err == nil {
		_, rest, _ := strings.Cut(string(data), ") ")
		f := strings.Fields(rest)
		if len(f) > 12 {
			u, _ := strconv.ParseUint(f[11], 10, 64)
			s, _ := strconv.ParseUint(f[12], 10, 64)
			self = u + s
		}
	}
	return busy, self
}

// reportMs reports the p50 and p99 of ds in milliseconds.
func reportMs(b *testing.B, prefix string, ds []time.Duration) {
	if len(ds) == 0 {
		b.Fatalf("no %ssamples", prefix)
	}
	slices.Sort(ds)
	b.ReportMetric(quantile(ds, 0.5), prefix+"p50-ms")
	b.ReportMetric(quantile(ds, 0.99), prefix+"p99-ms")
}

func q99(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return quantile(ds, 0.99)
}

// quantile of sorted ds, in ms to 0.01 ms.
func quantile(ds []time.Duration, p float64) float64 {
	return float64(ds[int(p*float64(len(ds)-1))].Microseconds()/10) / 100
}

// ---------------------------------------------------- the raw SIP client

// sipClient places calls from a few UDP sockets with SIP written by hand
// and answers parkd's requests (BYE; the INVITE of a retrieve to the
// operator) from their own headers. Every call's SDP points its RTP at one
// socket that is never read: the kernel drops the music on hold once its
// buffer is full, as a remote phone's would cost parkd nothing more, and
// the client spends no CPU on 50 packets a second per parked call.
type sipClient struct {
	b       testing.TB
	server  *net.UDPAddr
	conns   []*net.UDPConn
	rtpPort int
	// direction is the SDP direction of the calls placed: sendrecv, or
	// inactive to have parkd play no music on hold to them.
	direction string
	seq       atomic.Int64
	retrans   atomic.Int64 // INVITEs and BYEs sent again for want of an answer

	mu    sync.Mutex
	calls map[string]*rawCall // by Call-ID, until they end
}

type rawCall struct {
	id      string
	conn    *net.UDPConn
	ruri    string
	fromTag string
	branch  string
	invite  []byte
	inbound bool // parkd called us (a retrieve to the operator)

	mu       sync.Mutex
	state    int // 0 inviting, 1 ringing, 2 answered, 3 saying BYE, 4 ended
	status   int
	sent     time.Time
	t200     time.Time
	to       string // To with parkd's tag
	contact  string // parkd's Contact URI
	bye      []byte
	byeSent  time.Time
	byeOK    time.Time
	answered chan struct{}
	ended    chan struct{}
}

func newSIPClient(b testing.TB, sockets int) *sipClient {
	c := &sipClient{b: b, calls: map[string]*rawCall{}, direction: "sendrecv"}
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	c.rtpPort = rtp.LocalAddr().(*net.UDPAddr).Port
	for range sockets {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		conn.SetReadBuffer(4 << 20)
		c.conns = append(c.conns, conn)
	}
	stop := make(chan struct{})
	b.Cleanup(func() {
		close(stop)
		rtp.Close()
		for _, conn := range c.conns {
			conn.Close()
		}
	})
	go c.retransmit(stop)
	return c
}

// connect points the client at parkd's UDP listener and starts reading.
func (c *sipClient) connect(b testing.TB, server string) {
	addr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		b.Fatal(err)
	}
	c.server = addr
	for _, conn := range c.conns {
		go c.read(conn)
	}
}

// parkMany parks n calls at ext, at most 50 unanswered at a time.
func (c *sipClient) parkMany(b testing.TB, ext string, n int) []*rawCall {
	calls := make([]*rawCall, n)
	for i := range calls {
		if i >= 50 {
			if !calls[i-50].waitAnswered(10 * time.Second) {
				b.Fatalf("call %d not answered in 10 s", i-50)
			}
		}
		calls[i] = c.prepare(ext)
		c.send(calls[i])
	}
	for i, call := range calls {
		if !call.waitAnswered(10*time.Second) || call.status != 200 {
			b.Fatalf("park %d of %d: status %d", i, n, call.status)
		}
	}
	return calls
}

func (c *sipClient) active() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

func (c *sipClient) forget(call *rawCall) {
	c.mu.Lock()
	delete(c.calls, call.id)
	c.mu.Unlock()
}

// prepare builds a call to ext; send places it.
func (c *sipClient) prepare(ext string) *rawCall {
	n := c.seq.Add(1)
	conn := c.conns[int(n)%len(c.conns)]
	local := conn.LocalAddr().String()
	call := &rawCall{
		id: fmt.Sprintf("bench-%d-%p@127.0.0.1", n, c), conn: conn,
		ruri:    "sip:" + ext + "@" + c.server.String(),
		fromTag: "f" + strconv.FormatInt(n, 10), branch: "z9hG4bK-inv-" + strconv.FormatInt(n, 10),
		answered: make(chan struct{}), ended: make(chan struct{}),
	}
	sdp := fmt.Sprintf("v=0\r\no=bench %d 1 IN IP4 127.0.0.1\r\ns=bench\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=%s\r\n", n, c.rtpPort, c.direction)
	call.invite = fmt.Appendf(nil, "INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: \"Caller %d\" <sip:%d@127.0.0.1>;tag=%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:%d@%s>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		call.ruri, local, call.branch, n, 100000+n, call.fromTag, call.ruri, call.id, 100000+n, local, len(sdp), sdp)
	return call
}

func (c *sipClient) send(call *rawCall) {
	c.mu.Lock()
	c.calls[call.id] = call
	c.mu.Unlock()
	call.mu.Lock()
	call.sent = time.Now()
	call.mu.Unlock()
	call.conn.WriteToUDP(call.invite, c.server)
}

// bye hangs an answered call up; waitEnded says when its 200 came.
func (c *sipClient) bye(call *rawCall) {
	call.mu.Lock()
	if call.state != 2 {
		call.mu.Unlock()
		return
	}
	call.state = 3
	local := call.conn.LocalAddr().String()
	call.bye = fmt.Appendf(nil, "BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-bye-%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:caller@127.0.0.1>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
		call.contact, local, call.fromTag, call.fromTag, call.to, call.id)
	call.byeSent = time.Now()
	msg := call.bye
	call.mu.Unlock()
	call.conn.WriteToUDP(msg, c.server)
}

func (call *rawCall) waitAnswered(d time.Duration) bool {
	select {
	case <-call.answered:
		return true
	case <-time.After(d):
		return false
	}
}

func (call *rawCall) waitEnded(d time.Duration) bool {
	select {
	case <-call.ended:
		return true
	case <-time.After(d):
		return false
	}
}

// finish ends the call; callers hold call.mu.
func (c *sipClient) finishLocked(call *rawCall) {
	if call.state == 4 {
		return
	}
	call.state = 4
	close(call.ended)
	c.mu.Lock()
	delete(c.calls, call.id)
	c.mu.Unlock()
}

// retransmit resends INVITEs and BYEs left unanswered for 500 ms (UDP
// may drop them under load); after 8 s the call fails with 408.
func (c *sipClient) retransmit(stop chan struct{}) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		c.mu.Lock()
		calls := make([]*rawCall, 0, len(c.calls))
		for _, call := range c.calls {
			calls = append(calls, call)
		}
		c.mu.Unlock()
		now := time.Now()
		for _, call := range calls {
			call.mu.Lock()
			var msg []byte
			switch {
			case call.state == 0 && now.Sub(call.sent) > 8*time.Second:
				call.state, call.status = 2, 408
				close(call.answered)
				c.finishLocked(call)
			case call.state == 0 && now.Sub(call.sent) > 500*time.Millisecond:
				msg = call.invite
			case call.state == 3 && now.Sub(call.byeSent) > 8*time.Second:
				c.finishLocked(call)
			case call.state == 3 && now.Sub(call.byeSent) > 500*time.Millisecond:
				msg = call.bye
			}
			call.mu.Unlock()
			if msg != nil && c.server != nil {
				c.retrans.Add(1)
				call.conn.WriteToUDP(msg, c.server)
			}
		}
	}
}

func (c *sipClient) read(conn *net.UDPConn) {
	buf := make([]byte, 65536)
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		now := time.Now()
		m := parseSIP(buf[:n])
		if m.status > 0 {
			c.response(conn, m, now)
		} else {
			c.request(conn, from, m)
		}
	}
}

func (c *sipClient) response(conn *net.UDPConn, m sipMsg, now time.Time) {
	c.mu.Lock()
	call := c.calls[m.get("call-id")]
	c.mu.Unlock()
	if call == nil {
		return
	}
	num, method, _ := strings.Cut(m.get("cseq"), " ")
	call.mu.Lock()
	defer call.mu.Unlock()
	switch strings.TrimSpace(method) {
	case "INVITE":
		if m.status < 200 {
			if call.state == 0 {
				call.state = 1
			}
			return
		}
		first := call.state < 2
		if first {
			call.state, call.status, call.t200 = 2, m.status, now
			call.to, call.contact = m.get("to"), uriOf(m.get("contact"))
		}
		local := conn.LocalAddr().String()
		var ack []byte
		if m.status < 300 {
			ack = fmt.Appendf(nil, "ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ack-%s;rport\r\n", call.contact, local, call.fromTag)
		} else {
			ack = fmt.Appendf(nil, "ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\n", call.ruri, local, call.branch)
		}
		ack = fmt.Appendf(ack, "Max-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s ACK\r\nContent-Length: 0\r\n\r\n",
			call.fromTag, m.get("to"), call.id, num)
		conn.WriteToUDP(ack, c.server)
		if first {
			close(call.answered)
			if m.status >= 300 {
				c.finishLocked(call)
			}
		}
	case "BYE":
		if m.status >= 200 && call.state == 3 {
			call.byeOK = now
			c.finishLocked(call)
		}
	}
}

func (c *sipClient) request(conn *net.UDPConn, from *net.UDPAddr, m sipMsg) {
	callID := m.get("call-id")
	switch m.method {
	case "ACK":
		return
	case "INVITE":
		// parkd rings the operator (us): answer at once, with an SDP that
		// points at the silent RTP socket.
		c.mu.Lock()
		if c.calls[callID] == nil {
			c.calls[callID] = &rawCall{id: callID, inbound: true, state: 2, answered: make(chan struct{}), ended: make(chan struct{})}
		}
		c.mu.Unlock()
		h := fnv.New32a()
		h.Write([]byte(callID))
		sdp := fmt.Sprintf("v=0\r\no=operator %d 1 IN IP4 127.0.0.1\r\ns=bench\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
			"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", h.Sum32(), c.rtpPort)
		res := replyTo(nil, m, "200 OK", fmt.Sprintf(";tag=op%x", h.Sum32()))
		res = fmt.Appendf(res, "Contact: <sip:operator@%s>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
			conn.LocalAddr(), len(sdp), sdp)
		conn.WriteToUDP(res, from)
	case "BYE":
		conn.WriteToUDP(append(replyTo(nil, m, "200 OK", ""), "Content-Length: 0\r\n\r\n"...), from)
		c.mu.Lock()
		call := c.calls[callID]
		c.mu.Unlock()
		if call != nil {
			call.mu.Lock()
			c.finishLocked(call)
			call.mu.Unlock()
		}
	default:
		conn.WriteToUDP(append(replyTo(nil, m, "200 OK", ""), "Content-Length: 0\r\n\r\n"...), from)
	}
}

// sipMsg is a parsed SIP message: enough of it for the client.
type sipMsg struct {
	method string // requests
	status int    // responses
	hdrs   [][2]string
}

var compact = map[string]string{"i": "call-id", "f": "from", "t": "to", "v": "via", "m": "contact", "l": "content-length"}

func parseSIP(msg []byte) sipMsg {
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	var m sipMsg
	if rest, ok := strings.CutPrefix(lines[0], "SIP/2.0 "); ok {
		m.status, _ = strconv.Atoi(rest[:min(3, len(rest))])
	} else {
		m.method, _, _ = strings.Cut(lines[0], " ")
	}
	for _, line := range lines[1:] {
		name, value, _ := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		if full, ok := compact[name]; ok {
			name = full
		}
		m.hdrs = append(m.hdrs, [2]string{name, strings.TrimSpace(value)})
	}
	return m
}

func (m sipMsg) get(name string) string {
	for _, h := range m.hdrs {
		if h[0] == name {
			return h[1]
		}
	}
	return ""
}

var canonical = map[string]string{"via": "Via", "from": "From", "call-id": "Call-ID", "cseq": "CSeq"}

// replyTo starts a response to req: its Vias, From, To (toTag added when
// To has none), Call-ID and CSeq.
func replyTo(dst []byte, req sipMsg, status, toTag string) []byte {
	dst = append(dst, "SIP/2.0 "+status+"\r\n"...)
	for _, h := range req.hdrs {
		switch h[0] {
		case "via", "from", "call-id", "cseq":
			dst = fmt.Appendf(dst, "%s: %s\r\n", canonical[h[0]], h[1])
		case "to":
			v := h[1]
			if !strings.Contains(v, ";tag=") {
				v += toTag
			}
			dst = fmt.Appendf(dst, "To: %s\r\n", v)
		}
	}
	return dst
}

// uriOf takes the URI out of a name-addr such as a Contact.
func uriOf(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return v[i+1 : i+j]
		}
	}
	v, _, _ = strings.Cut(v, ";")
	return v
}
