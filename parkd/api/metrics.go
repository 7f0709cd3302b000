package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry is a registry with the Go runtime and process collectors,
// what NewHandler uses when Options.Registry is nil. Wiring that also
// runs WatchEvents (or other metrics) makes one and passes it to both.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

type apiMetrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

// newAPIMetrics registers the API's metrics on reg, reusing those already
// there, so two handlers (tests, a restarted listener) share one registry.
func newAPIMetrics(reg prometheus.Registerer, version string) *apiMetrics {
	m := &apiMetrics{
		requests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parkd_api_requests_total",
			Help: "HTTP API requests by route pattern (not raw path) and status code.",
		}, []string{"route", "code"})),
		seconds: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parkd_api_request_seconds",
			Help:    "HTTP API request durations by route pattern; event streams last as long as the client stays.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"})),
	}
	info := register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "parkd_build_info",
		Help: "Always 1; the version label says which parkd is running.",
	}, []string{"version"}))
	info.WithLabelValues(version).Set(1)
	return m
}

// register registers c, or returns the equal collector already registered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a name clash with a different metric is a programming error
	}
	return c
}

func (m *apiMetrics) observe(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.seconds.WithLabelValues(route).Observe(d.Seconds())
}

func (s *server) metrics(w http.ResponseWriter, r *http.Request) {
	s.scrape.ServeHTTP(w, r)
}

func newScrapeHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
