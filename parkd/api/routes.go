package api

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parkd/parkd/parkd"
)

// Options configure the handler.
type Options struct {
	Token string // the bearer token every route but /healthz and /metrics needs
	Log   *slog.Logger
	// Registry receives the API's metrics and is what /metrics serves;
	// nil means a new one with the Go runtime and process collectors.
	Registry *prometheus.Registry
	Version  string
	// RingGroups are the config's named ring groups, for /api/call_park.
	RingGroups map[string][]string
	// MaxStreams caps the event streams open at once (each holds a
	// subscriber buffer); past it /events answers 503. 0 = DefaultMaxStreams.
	MaxStreams int
}

// DefaultMaxStreams is enough for every console and script a site runs,
// and small enough that a leaked token cannot pin much memory.
const DefaultMaxStreams = 256

// route is one entry of the router's own list: Routes, the mux, the
// token check and the OpenAPI test all read this table, so a route added
// here cannot escape authentication or documentation.
type route struct {
	method, path string
	handle       func(*server, http.ResponseWriter, *http.Request)
	// public routes answer without a token; keep this to probes and scrapes.
	public bool
	// stream routes manage their own write deadlines.
	stream bool
}

func (rt route) pattern() string { return rt.method + " " + rt.path }

var routes = []route{
	{method: "GET", path: "/healthz", handle: (*server).healthz, public: true},
	{method: "GET", path: "/metrics", handle: (*server).metrics, public: true},

	{method: "GET", path: "/api/v1/openapi.json", handle: (*server).openapi},
	{method: "GET", path: "/api/v1/status", handle: (*server).status},
	{method: "GET", path: "/api/v1/lots", handle: (*server).lots},
	{method: "GET", path: "/api/v1/slots", handle: (*server).slots},
	{method: "GET", path: "/api/v1/slots/{slot}", handle: (*server).slot},
	{method: "GET", path: "/api/v1/calls", handle: (*server).calls},
	{method: "GET", path: "/api/v1/calls/{id}", handle: (*server).call},

	{method: "POST", path: "/api/v1/calls/{id}/park", handle: (*server).park},
	{method: "POST", path: "/api/v1/slots/{slot}/retrieve", handle: (*server).retrieve},
	{method: "POST", path: "/api/v1/slots/{slot}/move", handle: (*server).move},
	{method: "POST", path: "/api/v1/calls/{id}/transfer", handle: (*server).transfer},
	{method: "POST", path: "/api/v1/calls/{id}/hangup", handle: (*server).hangup},
	{method: "POST", path: "/api/v1/reload", handle: (*server).reload},

	{method: "GET", path: "/api/v1/policies/defaults", handle: (*server).getPolicy},
	{method: "PATCH", path: "/api/v1/policies/defaults", handle: (*server).patchPolicy},
	{method: "DELETE", path: "/api/v1/policies/defaults", handle: (*server).clearPolicy},
	{method: "GET", path: "/api/v1/policies/lots/{name}", handle: (*server).getPolicy},
	{method: "PATCH", path: "/api/v1/policies/lots/{name}", handle: (*server).patchPolicy},
	{method: "DELETE", path: "/api/v1/policies/lots/{name}", handle: (*server).clearPolicy},
	{method: "GET", path: "/api/v1/policies/slots/{slot}", handle: (*server).getPolicy},
	{method: "PATCH", path: "/api/v1/policies/slots/{slot}", handle: (*server).patchPolicy},
	{method: "DELETE", path: "/api/v1/policies/slots/{slot}", handle: (*server).clearPolicy},

	{method: "GET", path: "/api/v1/history", handle: (*server).history},
	{method: "GET", path: "/api/v1/events", handle: (*server).events, stream: true},

	// The runtime's profiles (debug.go); the two that run for a while
	// write when they are done, past the plain write deadline.
	{method: "GET", path: "/debug/pprof/", handle: (*server).pprofIndex},
	{method: "GET", path: "/debug/pprof/profile", handle: (*server).pprofCPU, stream: true},
	{method: "GET", path: "/debug/pprof/trace", handle: (*server).pprofTrace, stream: true},

	// The reference systems' APIs, adapted (compat*.go).
	{method: "PUT", path: "/extension/{ext}/valet_park/{call_id}", handle: (*server).valetPark},
	{method: "PUT", path: "/uapi/phoneCalls/{user}/{ext}/{call_id}", handle: (*server).uapiPark},
	{method: "GET", path: "/api/call_park", handle: (*server).getCallPark},
	{method: "POST", path: "/api/call_park", handle: (*server).postCallPark},
}

// Routes lists every route as "METHOD /path/{param}", in registration order.
func Routes() []string {
	out := make([]string, len(routes))
	for i, rt := range routes {
		out[i] = rt.pattern()
	}
	return out
}

// server holds what the handlers share.
type server struct {
	c       parkd.Client
	token   []byte
	log     *slog.Logger
	version string
	reg     *prometheus.Registry
	stats   *apiMetrics
	scrape  http.Handler
	mux     *http.ServeMux
	byPat   map[string]route

	ringGroups map[string][]string
	slotCache  slotJSON

	streams    atomic.Int64 // event streams open now
	maxStreams int64

	// Stream timings; tests shorten them.
	keepalive     time.Duration
	eventDeadline time.Duration
	writeDeadline time.Duration
}

// NewHandler serves c over HTTP.
func NewHandler(c parkd.Client, opts Options) http.Handler {
	return newServer(c, opts)
}

func newServer(c parkd.Client, opts Options) *server {
	s := &server{
		c:             c,
		token:         []byte(opts.Token),
		log:           opts.Log,
		version:       opts.Version,
		ringGroups:    opts.RingGroups,
		reg:           opts.Registry,
		mux:           http.NewServeMux(),
		byPat:         map[string]route{},
		keepalive:     15 * time.Second,
		eventDeadline: 10 * time.Second,
		writeDeadline: 30 * time.Second,
		maxStreams:    int64(opts.MaxStreams),
	}
	if s.maxStreams <= 0 {
		s.maxStreams = DefaultMaxStreams
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.reg == nil {
		s.reg = NewRegistry()
	}
	s.stats = newAPIMetrics(s.reg, s.version)
	s.scrape = newScrapeHandler(s.reg)
	for _, rt := range routes {
		s.byPat[rt.pattern()] = rt
		s.mux.HandleFunc(rt.pattern(), func(w http.ResponseWriter, r *http.Request) { rt.handle(s, w, r) })
	}
	return s
}
