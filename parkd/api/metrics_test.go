package api

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/parkd/parkd/parkd"
)

func TestAPIMetrics(t *testing.T) {
	s, _, _ := newTestServer(t)
	do(t, s, "GET", "/api/v1/slots/701", "")
	do(t, s, "GET", "/api/v1/slots/999", "")
	do(t, s, "GET", "/api/v1/slots/701", "", "Authorization", "")
	do(t, s, "GET", "/api/v1/no/such/path/12345", "")
	w := do(t, s, "GET", "/metrics", "", "Authorization", "")
	if w.Code != 200 {
		t.Fatalf("metrics: %d", w.Code)
	}
	body := w.Body.String()
	for _, want := range []string{
		`parkd_api_requests_total{code="200",route="GET /api/v1/slots/{slot}"} 1`,
		`parkd_api_requests_total{code="404",route="GET /api/v1/slots/{slot}"} 1`,
		`parkd_api_requests_total{code="401",route="GET /api/v1/slots/{slot}"} 1`,
		`parkd_api_requests_total{code="404",route="unmatched"} 1`,
		`parkd_api_request_seconds_bucket{route="GET /api/v1/slots/{slot}"`,
		`parkd_build_info{version="v-test"} 1`,
		`go_goroutines `,
		`process_`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "12345") || strings.Contains(body, `701"`) {
		t.Error("a raw path became a label")
	}
}

// Two handlers on one registry (a restarted listener, tests) share its metrics.
func TestHandlersShareARegistry(t *testing.T) {
	reg := NewRegistry()
	a := NewHandler(newFake(), Options{Token: testToken, Registry: reg})
	b := NewHandler(newFake(), Options{Token: testToken, Registry: reg})
	do(t, a, "GET", "/api/v1/lots", "")
	do(t, b, "GET", "/api/v1/lots", "")
	n := testutil.ToFloat64(newAPIMetrics(reg, "").requests.WithLabelValues("GET /api/v1/lots", "200"))
	if n != 2 {
		t.Errorf("count %v", n)
	}
}

func TestWatchEvents(t *testing.T) {
	f := newFake() // slot 701 holds c1 from the start
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { WatchEvents(ctx, f, reg); close(done) }()
	m := newEventMetrics(reg) // the same collectors, to read them
	inUse := func() float64 { return testutil.ToFloat64(m.inUse.WithLabelValues("main")) }
	eventually(t, "the snapshot", func() bool { return inUse() == 1 })

	parked := t0.Add(-90 * time.Second)
	q1 := &parkd.CallView{ID: "q1", ParkedAt: parked}
	c1 := &parkd.CallView{ID: "c1", ParkedAt: parked}
	at := t0
	for _, ev := range []parkd.Event{
		{Kind: parkd.EventQueued, Lot: "main", Call: q1},
		{Kind: parkd.EventParked, Lot: "main", Slot: "702", Call: q1},
		{Kind: parkd.EventParked, Lot: "main", Slot: "702", Call: q1}, // a replay: no second slot
		{Kind: parkd.EventMoved, Lot: "main", Slot: "702", Call: q1, Detail: "to 703"},
		{Kind: parkd.EventParked, Lot: "main", Slot: "703", Call: q1}, // the move's park: not a new one
		{Kind: parkd.EventRecalling, Lot: "main", Slot: "703", Call: q1},
		{Kind: parkd.EventRetrieved, Lot: "main", Slot: "703", Call: q1, Time: at},
		{Kind: parkd.EventAbandoned, Lot: "main", Slot: "701", Call: c1, Time: at},
		{Kind: parkd.EventAbandoned, Lot: "main", Slot: "701", Call: c1, Time: at}, // never below zero
		{Kind: parkd.EventParked, Lot: "sales", Slot: "801", Call: c1},
		{Kind: parkd.EventRecalled, Lot: "sales", Slot: "801", Call: c1, Time: at},
	} {
		f.publish(ev)
	}
	counter := func(c *prometheus.CounterVec, lot string) float64 { return testutil.ToFloat64(c.WithLabelValues(lot)) }
	// The last event moves a counter and then a gauge: wait for both.
	eventually(t, "the events", func() bool {
		return counter(m.recalled, "sales") == 1 && testutil.ToFloat64(m.inUse.WithLabelValues("sales")) == 0
	})
	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"parked main", counter(m.parked, "main"), 2}, // the replay counts; a move does not
		{"parked sales", counter(m.parked, "sales"), 1},
		{"queued", counter(m.queued, "main"), 1},
		{"retrieved", counter(m.retrieved, "main"), 1},
		{"abandoned", counter(m.abandoned, "main"), 2},
		{"recalled", counter(m.recalled, "sales"), 1},
		{"in use main", inUse(), 0},
		{"in use sales", testutil.ToFloat64(m.inUse.WithLabelValues("sales")), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.parkedSeconds); n != 2 {
		t.Errorf("%d parked-time series, want main and sales", n)
	}
	out, _ := testutil.CollectAndFormat(m.parkedSeconds, expfmt.TypeTextPlain, "parkd_parked_seconds")
	if !strings.Contains(string(out), `parkd_parked_seconds_sum{lot="main"} 270`) {
		t.Errorf("parked seconds:\n%s", out)
	}

	// The stream closes (a slow reader): WatchEvents resubscribes from the
	// last event it saw.
	last := f.seq
	f.dropAll()
	eventually(t, "the resubscription", func() bool { return f.subscribers() == 1 })
	if got, want := f.lastAsked(), "Subscribe "+strconv.FormatUint(last, 10); got != want && !strings.HasPrefix(got, "Slots") {
		t.Errorf("asked %q, want %q", got, want)
	}
	// A resync takes a fresh snapshot: 701 is still occupied in the fake.
	f.publish(parkd.Event{Kind: parkd.EventResync})
	eventually(t, "the resync", func() bool { return inUse() == 1 })

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WatchEvents did not return")
	}
}

// WatchEvents outlives a Client that refuses for a while.
func TestWatchEventsRetries(t *testing.T) {
	f := newFake()
	f.setFail(&parkd.Error{Code: parkd.CodeUnavailable, Message: "starting"})
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go WatchEvents(ctx, f, reg)
	time.Sleep(100 * time.Millisecond)
	f.setFail(nil)
	eventually(t, "the subscription", func() bool { return f.subscribers() == 1 })
	m := newEventMetrics(reg)
	eventually(t, "the snapshot", func() bool { return testutil.ToFloat64(m.inUse.WithLabelValues("main")) == 1 })
}
