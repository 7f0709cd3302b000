package api

import (
	"fmt"
	"net/http"
	"net/http/pprof"
	"strconv"

	"github.com/parkd/parkd/parkd"
)

// The Go runtime's profiles (net/http/pprof), behind the API token like
// every action: where a busy daemon's CPU, memory and scheduling go, read
// off the running parkd with `go tool pprof` or `go tool trace` instead of
// a rebuilt one. They show stacks and counts, never call data; a CPU
// profile or trace costs a few percent of a core while it runs.

// Longest recordings: enough to see a load through, short enough that a
// forgotten request does not keep the profiler (one at a time) or a
// trace's buffers for long.
const (
	maxCPUProfileSeconds = 120
	maxTraceSeconds      = 60
)

// pprofIndex lists the profiles and serves each by name (heap, allocs,
// goroutine, block, mutex, threadcreate).
func (s *server) pprofIndex(w http.ResponseWriter, r *http.Request) { pprof.Index(w, r) }

// pprofCPU is a CPU profile over ?seconds= (30 by default).
func (s *server) pprofCPU(w http.ResponseWriter, r *http.Request) {
	if recordingTooLong(w, r, maxCPUProfileSeconds) {
		return
	}
	pprof.Profile(w, r)
}

// pprofTrace is a runtime trace over ?seconds= (1 by default).
func (s *server) pprofTrace(w http.ResponseWriter, r *http.Request) {
	if recordingTooLong(w, r, maxTraceSeconds) {
		return
	}
	pprof.Trace(w, r)
}

// recordingTooLong answers 400 for a ?seconds= past limit; what pprof
// itself refuses (not a number) it answers itself.
func recordingTooLong(w http.ResponseWriter, r *http.Request, limit float64) bool {
	v := r.URL.Query().Get("seconds")
	if v == "" {
		return false
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || secs <= limit {
		return false
	}
	writeError(w, http.StatusBadRequest, errorBody{Code: parkd.CodeInvalidField, Field: "seconds",
		Message: fmt.Sprintf("seconds must be at most %g", limit)})
	return true
}
