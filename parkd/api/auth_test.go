package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// samplePath fills a route's wildcards with values the fake knows.
func samplePath(path string) string {
	return strings.NewReplacer("{slot}", "701", "{id}", "c1", "{name}", "main").Replace(path)
}

// TestEveryRouteNeedsTheToken walks the router's own list, so a route added
// later is covered without touching this test.
func TestEveryRouteNeedsTheToken(t *testing.T) {
	public := map[string]bool{"GET /healthz": true, "GET /metrics": true}
	headers := []struct{ name, value string }{
		{"no header", ""},
		{"wrong token", "Bearer wrong"},
		{"token prefix", "Bearer " + testToken[:len(testToken)-1]},
		{"token plus", "Bearer " + testToken + "x"},
		{"basic scheme", "Basic " + testToken},
		{"no scheme", testToken},
		{"empty bearer", "Bearer "},
	}
	for _, pattern := range Routes() {
		method, path, _ := strings.Cut(pattern, " ")
		target := samplePath(path)
		if public[pattern] {
			t.Run(pattern+"/public", func(t *testing.T) {
				s, _, _ := newTestServer(t)
				if w := do(t, s, method, target, "", "Authorization", ""); w.Code != http.StatusOK {
					t.Errorf("status %d without a token", w.Code)
				}
			})
			continue
		}
		for _, h := range headers {
			t.Run(pattern+"/"+h.name, func(t *testing.T) {
				s, f, _ := newTestServer(t)
				w := do(t, s, method, target, "{}", "Authorization", h.value)
				if w.Code != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401", w.Code)
				}
				if got := w.Header().Get("WWW-Authenticate"); got != "Bearer" {
					t.Errorf("WWW-Authenticate %q", got)
				}
				want := `{"error":{"code":"unauthorized","message":"missing or invalid API token"}}` + "\n"
				if w.Body.String() != want {
					t.Errorf("body %q, want %q", w.Body, want)
				}
				if len(f.asked) != 0 {
					t.Errorf("the client was asked %v", f.asked)
				}
			})
		}
		t.Run(pattern+"/right token", func(t *testing.T) {
			s, _, _ := newTestServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond) // ends the event stream
			defer cancel()
			if w := doCtx(t, ctx, s, method, target, "{}", "Authorization", "bearer "+testToken); w.Code == http.StatusUnauthorized {
				t.Errorf("refused the right token (scheme in lower case)")
			}
		})
	}
	if len(public) != 2 {
		t.Fatal("the public list changed")
	}
}

// An unknown path asks for the token first: routes cannot be probed.
func TestUnknownPathNeedsTheToken(t *testing.T) {
	s, _, _ := newTestServer(t)
	for _, target := range []string{"/api/v1/nope", "/favicon.ico", "/api/v1/calls/c1/park/x"} {
		if w := do(t, s, "GET", target, "", "Authorization", ""); w.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d", target, w.Code)
		}
	}
	// Public routes stay public under any method, so a probe sees 405, not 401.
	if w := do(t, s, "POST", "/healthz", "", "Authorization", ""); w.Code != http.StatusUnauthorized && w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %d", w.Code)
	}
}

func TestEmptyTokenAdmitsNobody(t *testing.T) {
	s := newServer(newFake(), Options{})
	r, _ := http.NewRequest("GET", "/api/v1/lots", nil)
	r.Header.Set("Authorization", "Bearer ")
	for _, h := range []string{"Bearer ", "Bearer", ""} {
		r.Header.Set("Authorization", h)
		if s.authorized(r) {
			t.Errorf("%q admitted with no configured token", h)
		}
	}
	if w := do(t, s, "GET", "/healthz", ""); w.Code != 200 {
		t.Errorf("healthz: %d", w.Code)
	}
}
