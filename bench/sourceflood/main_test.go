package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHeapReader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   uint64
		err    string
	}{
		{"the MemStats line", 200, "heap profile: 1: 2 [3: 4] @ heap/1048576\n# runtime.MemStats\n# Alloc = 10\n# HeapAlloc = 2217288\n# HeapInuse = 3571712\n", 2217288, ""},
		{"no MemStats", 200, "heap profile: 1: 2 [3: 4] @ heap/1048576\n", 0, "no HeapAlloc line"},
		{"not a number", 200, "# HeapAlloc = lots\n", 0, "invalid syntax"},
		{"refused", 401, "", 0, "401"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("gc") != "1" || r.Header.Get("Authorization") != "Bearer tok" {
					http.Error(w, "bad request", http.StatusBadRequest)
					return
				}
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			got, err := heapReader{api: srv.URL, token: "tok"}.live()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// Sources outside loopback are refused before anything is sent.
func TestRunRefusesOtherSources(t *testing.T) {
	for _, first := range []string{"10.0.0.1", "::1", "nonsense"} {
		err := run("127.0.0.1:5060", "http://127.0.0.1:1", "/nonexistent", 1, "response", first, time.Millisecond, 16)
		if err == nil || !strings.Contains(err.Error(), "-first") {
			t.Errorf("-first %s: %v, want a refusal", first, err)
		}
	}
}
