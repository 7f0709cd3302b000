package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
)

// startServer serves h as Serve does, with tweak applied to the server.
func startServer(t *testing.T, h http.Handler, tweak func(*http.Server)) (base string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopping, stopStreams := context.WithCancel(context.Background())
	srv := newHTTPServer(h, stopping)
	if tweak != nil {
		tweak(srv)
	}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, srv, stopStreams, "", "") }()
	var once bool
	var result error
	stop = func() error {
		if !once {
			once = true
			cancel()
			result = <-done
		}
		return result
	}
	t.Cleanup(func() { stop() })
	return "http://" + ln.Addr().String(), stop
}

type sseStream struct {
	resp *http.Response
	rd   *bufio.Reader
}

func openStream(t *testing.T, url string, hdr ...string) *sseStream {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	return &sseStream{resp: resp, rd: bufio.NewReader(resp.Body)}
}

// next reads one frame (up to a blank line); io.EOF when the stream ended.
func (s *sseStream) next(t *testing.T) (string, error) {
	t.Helper()
	var b strings.Builder
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		if line == "\n" {
			return b.String(), nil
		}
		b.WriteString(line)
	}
}

// nextEvent skips keepalives and returns the next event's fields.
func (s *sseStream) nextEvent(t *testing.T) (id, kind string, ev parkd.Event) {
	t.Helper()
	for {
		frame, err := s.next(t)
		if err != nil {
			t.Fatalf("stream ended: %v (partial %q)", err, frame)
		}
		if strings.HasPrefix(frame, ":") {
			continue
		}
		lines := strings.Split(strings.TrimSuffix(frame, "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("frame %q", frame)
		}
		id, _ = strings.CutPrefix(lines[0], "id: ")
		kind, _ = strings.CutPrefix(lines[1], "event: ")
		data, _ := strings.CutPrefix(lines[2], "data: ")
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("data %q: %v", data, err)
		}
		return id, kind, ev
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEventsStream(t *testing.T) {
	s, f, _ := newTestServer(t)
	base, _ := startServer(t, s, nil)
	st := openStream(t, base+"/api/v1/events")
	eventually(t, "the subscription", func() bool { return f.subscribers() == 1 })
	if got := f.lastAsked(); got != "Subscribe 0" {
		t.Errorf("asked %q", got)
	}
	c := f.calls["c1"]
	f.publish(parkd.Event{Kind: parkd.EventParked, Lot: "main", Slot: "702", Version: 1, Call: c})
	f.publish(parkd.Event{Kind: parkd.EventRetrieved, Lot: "main", Slot: "702", Version: 2, Detail: "line1\nline2"})
	id, kind, ev := st.nextEvent(t)
	if id != "1" || kind != "parked" || ev.Seq != 1 || ev.Call == nil || ev.Call.ID != "c1" {
		t.Errorf("first: id %s kind %s %+v", id, kind, ev)
	}
	id, kind, ev = st.nextEvent(t)
	if id != "2" || kind != "retrieved" || ev.Detail != "line1\nline2" {
		t.Errorf("second: id %s kind %s %+v", id, kind, ev)
	}
	// The Client drops a slow reader by closing its channel: the response ends.
	f.dropAll()
	if frame, err := st.next(t); err != io.EOF {
		t.Errorf("after the channel closed: %q, %v", frame, err)
	}
}

func TestEventsResume(t *testing.T) {
	tests := []struct {
		name  string
		hdr   []string
		query string
		asked string
		first string
	}{
		{"header", []string{"Last-Event-ID", "1"}, "", "Subscribe 1", "2"},
		{"query", nil, "?last_event_id=2", "Subscribe 2", "3"},
		{"header wins", []string{"Last-Event-ID", "2"}, "?last_event_id=1", "Subscribe 2", "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f, _ := newTestServer(t)
			for range 3 {
				f.publish(parkd.Event{Kind: parkd.EventParked, Lot: "main", Slot: "701"})
			}
			base, _ := startServer(t, s, nil)
			st := openStream(t, base+"/api/v1/events"+tt.query, tt.hdr...)
			if id, _, _ := st.nextEvent(t); id != tt.first {
				t.Errorf("first id %s, want %s", id, tt.first)
			}
			if got := f.lastAsked(); got != tt.asked {
				t.Errorf("asked %q, want %q", got, tt.asked)
			}
		})
	}
}

func TestEventsBadLastEventID(t *testing.T) {
	tests := []struct{ hdr, query, field string }{
		{"abc", "", "Last-Event-ID"},
		{"-1", "", "Last-Event-ID"},
		{"", "?last_event_id=1.5", "last_event_id"},
		{"", "?last_event_id=99999999999999999999999", "last_event_id"},
	}
	for _, tt := range tests {
		s, f, _ := newTestServer(t)
		w := do(t, s, "GET", "/api/v1/events"+tt.query, "", "Last-Event-ID", tt.hdr)
		if w.Code != 400 {
			t.Errorf("%+v: status %d", tt, w.Code)
			continue
		}
		if e := apiError(t, w); e.Code != "invalid_field" || e.Field != tt.field {
			t.Errorf("%+v: %+v", tt, e)
		}
		if len(f.asked) != 0 {
			t.Errorf("subscribed anyway: %v", f.asked)
		}
	}
}

func TestEventsSubscribeRefused(t *testing.T) {
	s, f, _ := newTestServer(t)
	f.setFail(&parkd.Error{Code: parkd.CodeUnavailable, Message: "stopping"})
	w := do(t, s, "GET", "/api/v1/events", "")
	if w.Code != 503 || apiError(t, w).Code != "unavailable" {
		t.Errorf("status %d %s", w.Code, w.Body)
	}
}

func TestEventsKeepalive(t *testing.T) {
	s, _, _ := newTestServer(t)
	s.keepalive = 20 * time.Millisecond
	base, _ := startServer(t, s, nil)
	st := openStream(t, base+"/api/v1/events")
	frame, err := st.next(t)
	if err != nil || frame != ": keepalive\n" {
		t.Errorf("frame %q, %v", frame, err)
	}
}

// The server's ReadTimeout is a connection deadline; a stream must outlive it.
func TestEventsOutliveReadTimeout(t *testing.T) {
	s, f, _ := newTestServer(t)
	base, _ := startServer(t, s, func(srv *http.Server) { srv.ReadTimeout = 100 * time.Millisecond })
	st := openStream(t, base+"/api/v1/events")
	time.Sleep(400 * time.Millisecond)
	f.publish(parkd.Event{Kind: parkd.EventParked, Lot: "main", Slot: "701"})
	if id, _, _ := st.nextEvent(t); id != "1" {
		t.Errorf("id %s", id)
	}
}

func TestEventsClientGoneUnsubscribes(t *testing.T) {
	s, f, _ := newTestServer(t)
	base, _ := startServer(t, s, nil)
	st := openStream(t, base+"/api/v1/events")
	eventually(t, "the subscription", func() bool { return f.subscribers() == 1 })
	st.resp.Body.Close()
	eventually(t, "the unsubscription", func() bool { return f.subscribers() == 0 })
}

// A peer that stops reading is cut off by the write deadline, even when
// the Client would keep feeding it.
func TestEventsStalledPeerIsCutOff(t *testing.T) {
	s, f, _ := newTestServer(t)
	s.eventDeadline = 200 * time.Millisecond
	f.buffer = 1 << 16 // the fake never drops it: only the deadline can
	base, _ := startServer(t, s, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	fmt.Fprintf(conn, "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", testToken)
	eventually(t, "the subscription", func() bool { return f.subscribers() == 1 })
	big := strings.Repeat("x", 64<<10)
	start := time.Now()
	for i := 0; f.subscribers() > 0; i++ {
		if time.Since(start) > 10*time.Second {
			t.Fatal("a stalled peer kept its stream")
		}
		if i < 2000 {
			f.publish(parkd.Event{Kind: parkd.EventParked, Lot: "main", Slot: "701", Detail: big})
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestShutdownEndsStreams(t *testing.T) {
	s, f, _ := newTestServer(t)
	base, stop := startServer(t, s, nil)
	st := openStream(t, base+"/api/v1/events")
	eventually(t, "the subscription", func() bool { return f.subscribers() == 1 })
	start := time.Now()
	if err := stop(); err != nil {
		t.Errorf("serve: %v", err)
	}
	if d := time.Since(start); d > shutdownGrace/2 {
		t.Errorf("shutdown took %s: the stream held it", d)
	}
	if frame, err := st.next(t); err != io.EOF && err != io.ErrUnexpectedEOF {
		t.Errorf("stream after shutdown: %q, %v", frame, err)
	}
}

// A token holder cannot pin unbounded memory by opening streams: past the
// cap a new stream gets 503 with Retry-After, and closing one frees a place.
func TestEventsStreamCap(t *testing.T) {
	s, f, _ := newTestServer(t)
	s.maxStreams = 2
	base, _ := startServer(t, s, nil)
	first := openStream(t, base+"/api/v1/events")
	openStream(t, base+"/api/v1/events")
	eventually(t, "two subscriptions", func() bool { return f.subscribers() == 2 })

	req, _ := http.NewRequest("GET", base+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), `"unavailable"`) {
		t.Fatalf("third stream: status %d Retry-After %q body %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if n := f.subscribers(); n != 2 {
		t.Errorf("refused stream subscribed anyway: %d subscribers", n)
	}

	first.resp.Body.Close()
	eventually(t, "the first stream's place to free", func() bool { return s.streams.Load() == 1 })
	openStream(t, base+"/api/v1/events")
}
