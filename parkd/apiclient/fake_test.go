package apiclient

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

const testToken = "s3cret"

// request is what the fake daemon saw.
type request struct {
	Method, Path, Query, Auth, ContentType, LastEventID string
	Body                                                string
}

// fakeDaemon answers every request with the status and body the test set,
// and records what it was asked.
type fakeDaemon struct {
	*httptest.Server
	mu     sync.Mutex
	seen   []request
	status int
	body   string
}

func newFakeDaemon(t *testing.T) *fakeDaemon {
	t.Helper()
	d := &fakeDaemon{status: 200, body: "{}"}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.seen = append(d.seen, request{
			Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"),
			LastEventID: r.Header.Get("Last-Event-ID"), Body: string(b),
		})
		status, body := d.status, d.body
		d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *fakeDaemon) answer(status int, body string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.status, d.body = status, body
}

func (d *fakeDaemon) last(t *testing.T) request {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.seen) == 0 {
		t.Fatal("the daemon saw no request")
	}
	return d.seen[len(d.seen)-1]
}

func (d *fakeDaemon) client(t *testing.T, opts ...Option) *Client {
	t.Helper()
	c, err := New(d.URL, testToken, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sameJSON compares two JSON texts by value, so key order does not matter.
func sameJSON(t *testing.T, got, want string) bool {
	t.Helper()
	if got == "" && want == "" {
		return true
	}
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Errorf("body %q is not JSON: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q is not JSON: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	return string(gb) == string(wb)
}
