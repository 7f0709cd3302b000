package api

import (
	"net/http"
	"net/http/pprof"
)

// The Go runtime's profiles (net/http/pprof), behind the API token like
// every action: where a busy daemon's CPU, memory and scheduling go, read
// off the running parkd with `go tool pprof` or `go tool trace` instead of
// a rebuilt one. They show stacks and counts, never call data; a CPU
// profile or trace costs a few percent of a core while it runs.

// pprofIndex lists the profiles and serves each by name (heap, allocs,
// goroutine, block, mutex, threadcreate).
func (s *server) pprofIndex(w http.ResponseWriter, r *http.Request) { pprof.Index(w, r) }

// pprofCPU is a CPU profile over ?seconds= (30 by default).
func (s *server) pprofCPU(w http.ResponseWriter, r *http.Request) { pprof.Profile(w, r) }

// pprofTrace is a runtime trace over ?seconds= (1 by default).
func (s *server) pprofTrace(w http.ResponseWriter, r *http.Request) { pprof.Trace(w, r) }
