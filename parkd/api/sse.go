package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parkd/parkd/parkd"
)

// stoppingKey carries, in every request's context, a context that ends
// when Serve starts shutting down: streams end on it while ordinary
// requests run to completion.
type stoppingKey struct{}

func (s *server) events(w http.ResponseWriter, r *http.Request) {
	after, err := lastEventID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.streams.Add(1) > s.maxStreams {
		s.streams.Add(-1)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, errorBody{Code: parkd.CodeUnavailable,
			Message: fmt.Sprintf("too many event streams open (%d); close one or raise the limit", s.maxStreams)})
		return
	}
	defer s.streams.Add(-1)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	if stopping, ok := r.Context().Value(stoppingKey{}).(context.Context); ok {
		defer context.AfterFunc(stopping, cancel)()
	}
	ch, err := s.c.Subscribe(ctx, after)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	// A stream reads nothing after its headers, so the server's ReadTimeout
	// has no business here; net/http disarms it today, and this keeps the
	// stream alive should that change (the tests hold both protocols to it).
	_ = rc.SetReadDeadline(time.Time{})

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // proxies must not hold events back
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead || s.send(w, rc, nil) != nil {
		return // HEAD (which GET patterns take) must not hold a stream open
	}

	keepalive := time.NewTicker(s.keepalive)
	defer keepalive.Stop()
	var frame bytes.Buffer
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-ch:
			if !ok {
				// Dropped as too slow or the daemon stops: the client
				// reconnects with Last-Event-ID and misses nothing.
				return
			}
			frame.Reset()
			if err := writeEvent(&frame, ev); err != nil {
				s.log.Error("event not encodable", "seq", ev.Seq, "err", err)
				return
			}
			if s.send(w, rc, frame.Bytes()) != nil {
				return
			}
		case <-keepalive.C:
			if s.send(w, rc, []byte(": keepalive\n\n")) != nil {
				return
			}
		}
	}
}

// send writes and flushes b under a fresh write deadline, so a peer that
// stops reading is cut off instead of holding this goroutine for ever.
func (s *server) send(w http.ResponseWriter, rc *http.ResponseController, b []byte) error {
	_ = rc.SetWriteDeadline(time.Now().Add(s.eventDeadline))
	if len(b) > 0 {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return rc.Flush()
}

// writeEvent frames ev for text/event-stream; JSON holds no raw newline,
// so the data fits on one line.
func writeEvent(buf *bytes.Buffer, ev parkd.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	buf.WriteString("id: ")
	buf.WriteString(strconv.FormatUint(ev.Seq, 10))
	buf.WriteString("\nevent: ")
	buf.WriteString(strings.NewReplacer("\r", "", "\n", "").Replace(string(ev.Kind)))
	buf.WriteString("\ndata: ")
	buf.Write(data)
	buf.WriteString("\n\n")
	return nil
}

// lastEventID is where a reconnecting client resumes: the Last-Event-ID
// header browsers send, or last_event_id for clients that cannot set it.
func lastEventID(r *http.Request) (uint64, error) {
	field, v := "Last-Event-ID", r.Header.Get("Last-Event-ID")
	if v == "" {
		field, v = "last_event_id", r.URL.Query().Get("last_event_id")
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0, invalid(field, "must be the id of an event, a whole number (got %q)", v)
	}
	return n, nil
}
