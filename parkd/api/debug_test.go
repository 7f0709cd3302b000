package api

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The runtime's profiles answer a token holder with what go tool pprof and
// go tool trace read.
func TestDebugProfilesAnswer(t *testing.T) {
	tests := []struct {
		name, target string
		status       int
		bodyHas      []byte
		atStart      bool // bodyHas is the body's first bytes
	}{
		{"index", "/debug/pprof/", 200, []byte("goroutine"), false},
		{"heap as text", "/debug/pprof/heap?debug=1", 200, []byte("heap profile:"), true},
		{"goroutines as text", "/debug/pprof/goroutine?debug=1", 200, []byte("goroutine profile:"), true},
		{"allocations", "/debug/pprof/allocs", 200, []byte{0x1f, 0x8b}, true}, // gzipped protobuf
		{"unknown profile", "/debug/pprof/nosuch", 404, []byte("Unknown profile"), false},
		{"cpu", "/debug/pprof/profile?seconds=1", 200, []byte{0x1f, 0x8b}, true},
		{"trace", "/debug/pprof/trace?seconds=1", 200, []byte("go 1."), true},
		{"cpu too long", "/debug/pprof/profile?seconds=121", 400, []byte(`"field":"seconds"`), false},
		{"trace too long", "/debug/pprof/trace?seconds=60.5", 400, []byte(`"field":"seconds"`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := newTestServer(t)
			w := do(t, s, "GET", tt.target, "")
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %.200s", w.Code, tt.status, w.Body)
			}
			body := w.Body.Bytes()
			if tt.atStart && !bytes.HasPrefix(body, tt.bodyHas) || !bytes.Contains(body, tt.bodyHas) {
				t.Errorf("body does not have %q: %.200q", tt.bodyHas, body)
			}
		})
	}
}

// A CPU profile over a real listener outlives the plain routes' write
// deadline: it is a stream route, so the server does not cut it.
func TestDebugCPUProfileOutlivesTheWriteDeadline(t *testing.T) {
	s, _, _ := newTestServer(t)
	s.writeDeadline = 200 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, s, "", "") }()
	defer func() {
		cancel()
		<-served
	}()
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/debug/pprof/profile?seconds=1", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading the profile: %v", err)
	}
	if res.StatusCode != 200 || !bytes.HasPrefix(body, []byte{0x1f, 0x8b}) {
		t.Fatalf("status %d, body %.100q", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/octet-stream") {
		t.Errorf("Content-Type %q", ct)
	}
}
