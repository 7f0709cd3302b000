package api

import (
	"net/http"
	"time"
)

// ServeHTTP is the one door every request passes: it settles the route
// (for the token check and bounded metric labels), the write deadline, the
// token, JSON 404/405 and panics, then hands over to the mux.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// The mux tells which pattern will answer before anything runs, so an
	// unknown path needs the token too and cannot be probed anonymously.
	_, pattern := s.mux.Handler(r)
	rt, known := s.byPat[pattern]
	label := pattern
	if !known {
		label = "unmatched" // 404, 405 and redirects: one label, whatever the path
	}
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("api handler panicked", "method", r.Method, "route", label, "panic", v)
			if !sw.wrote {
				writeInternal(sw)
			}
		}
		d := time.Since(start)
		s.stats.observe(label, sw.code(), d)
		s.log.Debug("api request", "method", r.Method, "route", label, "status", sw.code(), "duration", d)
	}()

	if !rt.stream {
		// No server-wide WriteTimeout (it would cut SSE), so each plain
		// response gets its own; recorders without a conn just refuse.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.writeDeadline))
	}
	if !rt.public && !s.authorized(r) {
		writeUnauthorized(sw)
		return
	}
	if !known {
		s.unmatched(sw, r)
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// unmatched answers what the mux would (404, 405 with Allow, or a
// redirect to the clean path) with a JSON body instead of plain text.
func (s *server) unmatched(w http.ResponseWriter, r *http.Request) {
	probe := &probeWriter{header: http.Header{}}
	s.mux.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		writeError(w, http.StatusMethodNotAllowed, errorBody{Code: codeMethodNotAllowed, Message: r.Method + " is not allowed here; see the Allow header"})
	case http.StatusMovedPermanently, http.StatusPermanentRedirect, http.StatusTemporaryRedirect, http.StatusFound:
		w.Header().Set("Location", probe.header.Get("Location"))
		w.WriteHeader(probe.status)
	default:
		writeError(w, http.StatusNotFound, errorBody{Code: codeNotFound, Message: "no such route: " + r.Method + " " + r.URL.Path})
	}
}

// probeWriter keeps the mux's status and headers and drops its text body.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header { return p.header }
func (p *probeWriter) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
func (p *probeWriter) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}

// statusWriter remembers the status for logs and metrics; Unwrap lets
// http.ResponseController reach the connection for flushes and deadlines.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.status
}
