package apiclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
)

// sseDaemon serves /api/v1/events: it writes what the test sends on
// frames, then ends the stream when frames closes.
type sseDaemon struct {
	*httptest.Server
	lastIDs chan string
	frames  chan string
}

func newSSEDaemon(t *testing.T) *sseDaemon {
	d := &sseDaemon{lastIDs: make(chan string, 10), frames: make(chan string)}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/events" || r.Header.Get("Authorization") != "Bearer "+testToken ||
			r.Header.Get("Accept") != "text/event-stream" {
			http.Error(w, "no", http.StatusTeapot)
			return
		}
		d.lastIDs <- r.Header.Get("Last-Event-ID")
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for {
			select {
			case f, ok := <-d.frames:
				if !ok {
					return
				}
				io.WriteString(w, f)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(d.Close)
	return d
}

func recv(t *testing.T, ch <-chan parkd.Event) parkd.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the event channel closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return parkd.Event{}
}

func closed(t *testing.T, ch <-chan parkd.Event) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the event channel did not close")
	}
}

func TestSubscribe(t *testing.T) {
	d := newSSEDaemon(t)
	c, _ := New(d.URL, testToken)
	ch, err := c.Subscribe(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if id := <-d.lastIDs; id != "" {
		t.Errorf("first subscribe sent Last-Event-ID %q", id)
	}
	// A keepalive, a plain event, one whose JSON spans data lines (joined
	// with newlines, which JSON takes as space), CRLF endings, and an event
	// whose JSON leaves seq and kind to the SSE fields.
	d.frames <- ": keepalive\n\n"
	d.frames <- "id: 1\nevent: parked\ndata: {\"seq\":1,\"kind\":\"parked\",\"lot\":\"main\",\"slot\":\"701\",\"call\":{\"id\":\"c1\",\"caller\":{\"name\":\"Alice\",\"uri\":\"sip:alice@x\"}}}\n\n"
	d.frames <- "id: 2\nevent: retrieved\ndata: {\"seq\":2,\n: a comment inside\ndata: \"kind\":\"retrieved\",\ndata:\"slot\":\"701\"}\n\n"
	d.frames <- "id: 3\r\nevent: moved\r\ndata: {\"slot\":\"702\",\"detail\":\"to 703\"}\r\n\r\n"
	d.frames <- "id: 4\nevent: parked\ndata: not json\n\n"
	d.frames <- "retry: 1000\n\n"
	d.frames <- "id: 5\nevent: resync\ndata: {\"seq\":5,\"kind\":\"resync\"}\n\n"

	want := []parkd.Event{
		{Seq: 1, Kind: parkd.EventParked, Lot: "main", Slot: "701", Call: &parkd.CallView{ID: "c1", Caller: parkd.Party{Display: "Alice", URI: "sip:alice@x"}}},
		{Seq: 2, Kind: parkd.EventRetrieved, Slot: "701"},
		{Seq: 3, Kind: parkd.EventMoved, Slot: "702", Detail: "to 703"},
		{Seq: 5, Kind: parkd.EventResync},
	}
	for _, w := range want {
		got := recv(t, ch)
		if got.Seq != w.Seq || got.Kind != w.Kind || got.Slot != w.Slot || got.Lot != w.Lot || got.Detail != w.Detail {
			t.Errorf("got %+v, want %+v", got, w)
		}
		if w.Call != nil && (got.Call == nil || got.Call.ID != w.Call.ID || got.Call.Caller != w.Call.Caller) {
			t.Errorf("call %+v, want %+v", got.Call, w.Call)
		}
	}

	// The daemon ends the stream: the channel closes, and the consumer
	// resubscribes with the last Seq it saw.
	close(d.frames)
	closed(t, ch)
	d.frames = make(chan string)
	ch, err = c.Subscribe(t.Context(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if id := <-d.lastIDs; id != "5" {
		t.Errorf("resubscribe sent Last-Event-ID %q, want 5", id)
	}
	d.frames <- "id: 6\nevent: parked\ndata: {\"seq\":6,\"kind\":\"parked\"}\n\n"
	if ev := recv(t, ch); ev.Seq != 6 {
		t.Errorf("after resubscribe: %+v", ev)
	}
}

// Ending ctx closes the channel even when the daemon stays quiet, and even
// when the consumer has stopped reading.
func TestSubscribeCancel(t *testing.T) {
	d := newSSEDaemon(t)
	c, _ := New(d.URL, testToken, WithTimeout(100*time.Millisecond))
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := c.Subscribe(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.lastIDs:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream was never requested")
	}
	// The per-request timeout bounds only the headers, not the stream.
	time.Sleep(300 * time.Millisecond)
	d.frames <- "id: 1\ndata: {\"seq\":1,\"kind\":\"parked\"}\n\n"
	if ev := recv(t, ch); ev.Seq != 1 {
		t.Fatalf("got %+v", ev)
	}
	cancel()
	closed(t, ch)
}

func TestSubscribeRefused(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		contentType string
		body        string
		code        string
	}{
		{"bad token", 401, "", "", parkd.CodeUnauthorized},
		{"stopping", 503, "application/json", `{"error":{"code":"unavailable","message":"parkd is stopping"}}`, parkd.CodeUnavailable},
		{"not a stream", 200, "application/json", `{}`, parkd.CodeInternal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c, _ := New(srv.URL, testToken)
			ch, err := c.Subscribe(t.Context(), 0)
			if ch != nil || parkd.ErrorCode(err) != tc.code {
				t.Fatalf("got %v %v, want code %s", ch, err, tc.code)
			}
			if tc.status == 503 && !strings.Contains(err.Error(), "stopping") {
				t.Errorf("message %q", err)
			}
		})
	}
}
