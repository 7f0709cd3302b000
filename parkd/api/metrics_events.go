package api

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parkd/parkd/parkd"
)

// WatchEvents keeps the parking metrics from c's event stream until ctx
// ends; run it in its own goroutine. It resubscribes from the last event
// seen whenever the stream closes, so a slow scrape or a restart of the
// stream loses nothing, and it counts slots in use from a snapshot plus
// events, so starting it after calls were parked still reads true.
func WatchEvents(ctx context.Context, c parkd.Client, reg prometheus.Registerer) {
	m := newEventMetrics(reg)
	var last uint64
	backoff := newBackoff(50*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		ch, err := c.Subscribe(ctx, last)
		if err != nil {
			backoff.wait(ctx)
			continue
		}
		// The snapshot comes after the subscription: replaying events
		// older than it only sets slots to states they have since passed,
		// and the events after them set them right again.
		if !m.synced {
			m.sync(ctx, c)
		}
		for ev := range ch {
			backoff.reset()
			last = ev.Seq
			if ev.Kind == parkd.EventResync {
				m.sync(ctx, c)
				continue
			}
			m.apply(ev)
		}
		backoff.wait(ctx)
	}
}

type eventMetrics struct {
	parked, retrieved, recalled, abandoned, queued *prometheus.CounterVec
	inUse                                          *prometheus.GaugeVec
	parkedSeconds                                  *prometheus.HistogramVec

	// occupied maps lot/slot of every occupied slot to its lot. Setting a
	// slot's state (rather than adding ±1) makes a replayed event harmless
	// and the gauge can never go negative.
	occupied map[string]string
	perLot   map[string]int
	// moving holds calls whose EventMoved was seen: their next
	// EventParked is the same park in a new slot, not a new one.
	moving map[string]bool
	synced bool
}

func newEventMetrics(reg prometheus.Registerer) *eventMetrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"lot"}))
	}
	return &eventMetrics{
		parked:    counter("parkd_calls_parked_total", "Calls parked, by lot (a move to another slot is not a new park)."),
		retrieved: counter("parkd_calls_retrieved_total", "Parked calls taken out of their slot by someone, by lot."),
		recalled:  counter("parkd_calls_recalled_total", "Parked calls whose recall was answered, by lot."),
		abandoned: counter("parkd_calls_abandoned_total", "Parked calls whose caller hung up, by lot."),
		queued:    counter("parkd_calls_queued_total", "Calls that joined an attendant queue, by lot."),
		inUse: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "parkd_slots_in_use", Help: "Slots holding a call, by lot.",
		}, []string{"lot"})),
		parkedSeconds: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parkd_parked_seconds",
			Help:    "How long calls stayed parked before they left their slot, by lot.",
			Buckets: []float64{5, 10, 15, 30, 45, 60, 90, 120, 180, 300, 600, 1200, 3600},
		}, []string{"lot"})),
		occupied: map[string]string{},
		perLot:   map[string]int{},
		moving:   map[string]bool{},
	}
}

// sync takes the slots in use from a snapshot; on failure the events alone
// count, and the next resubscription tries again.
func (m *eventMetrics) sync(ctx context.Context, c parkd.Client) {
	slots, err := c.Slots(ctx, parkd.SlotFilter{})
	if err != nil {
		m.synced = false
		return
	}
	clear(m.occupied)
	for lot := range m.perLot {
		m.perLot[lot] = 0
	}
	for _, sv := range slots {
		if _, ok := m.perLot[sv.Lot]; !ok {
			m.perLot[sv.Lot] = 0
		}
		if sv.Call != nil || (sv.State != "" && sv.State != parkd.SlotFree) {
			m.occupied[sv.Lot+"/"+sv.Slot] = sv.Lot
			m.perLot[sv.Lot]++
		}
	}
	for lot, n := range m.perLot {
		m.inUse.WithLabelValues(lot).Set(float64(n))
	}
	m.synced = true
}

func (m *eventMetrics) apply(ev parkd.Event) {
	switch ev.Kind {
	case parkd.EventParked:
		if id := callID(ev); id != "" && m.moving[id] {
			delete(m.moving, id)
		} else {
			m.parked.WithLabelValues(ev.Lot).Inc()
		}
		m.setOccupied(ev, true)
	case parkd.EventMoved:
		if id := callID(ev); id != "" {
			if len(m.moving) > 1000 { // a move whose park never came: forget old ones
				clear(m.moving)
			}
			m.moving[id] = true
		}
		m.setOccupied(ev, false)
	case parkd.EventRetrieved, parkd.EventAbandoned, parkd.EventHungUp, parkd.EventRecalled, parkd.EventForwarded:
		switch ev.Kind {
		case parkd.EventRetrieved:
			m.retrieved.WithLabelValues(ev.Lot).Inc()
		case parkd.EventAbandoned:
			m.abandoned.WithLabelValues(ev.Lot).Inc()
		case parkd.EventRecalled:
			m.recalled.WithLabelValues(ev.Lot).Inc()
		}
		if ev.Call != nil && !ev.Call.ParkedAt.IsZero() && !ev.Time.Before(ev.Call.ParkedAt) {
			m.parkedSeconds.WithLabelValues(ev.Lot).Observe(ev.Time.Sub(ev.Call.ParkedAt).Seconds())
		}
		m.setOccupied(ev, false)
	case parkd.EventQueued:
		m.queued.WithLabelValues(ev.Lot).Inc()
	}
}

func callID(ev parkd.Event) string {
	if ev.Call == nil {
		return ""
	}
	return ev.Call.ID
}

func (m *eventMetrics) setOccupied(ev parkd.Event, busy bool) {
	if ev.Slot == "" {
		return
	}
	key := ev.Lot + "/" + ev.Slot
	_, was := m.occupied[key]
	switch {
	case busy && !was:
		m.occupied[key] = ev.Lot
		m.perLot[ev.Lot]++
	case !busy && was:
		delete(m.occupied, key)
		m.perLot[ev.Lot]--
	default:
		if _, known := m.perLot[ev.Lot]; known {
			return // no change; the gauge says so already
		}
		m.perLot[ev.Lot] = 0
	}
	m.inUse.WithLabelValues(ev.Lot).Set(float64(m.perLot[ev.Lot]))
}

// backoff spaces resubscriptions when the daemon refuses them, without
// delaying the common case of a stream closed once.
type backoff struct {
	min, max, next time.Duration
}

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max, next: min} }

func (b *backoff) reset() { b.next = b.min }

func (b *backoff) wait(ctx context.Context) {
	t := time.NewTimer(b.next)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	b.next = min(2*b.next, b.max)
}
