package apiclient

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }
func contains(s, sub string) bool         { return strings.Contains(s, sub) }

func TestErrorDecoding(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   parkd.Error
	}{
		{"slot full", 409, `{"error":{"code":"slot_full","message":"slot 701 holds a call"}}`,
			parkd.Error{Code: "slot_full", Message: "slot 701 holds a call"}},
		{"invalid field", 400, `{"error":{"code":"invalid_field","message":"must be 5s-1h","field":"recall_after"}}`,
			parkd.Error{Code: "invalid_field", Message: "must be 5s-1h", Field: "recall_after"}},
		{"no such call", 404, `{"error":{"code":"no_such_call","message":"no call c7"}}`,
			parkd.Error{Code: "no_such_call", Message: "no call c7"}},
		{"bare 401", 401, ``, parkd.Error{Code: "unauthorized", Message: "unauthorized: the API token is missing or wrong"}},
		{"401 with a body", 401, `{"error":{"code":"unauthorized","message":"unauthorized"}}`,
			parkd.Error{Code: "unauthorized", Message: "unauthorized"}},
		{"proxy page", 502, `<html>bad gateway</html>`, parkd.Error{Code: "unavailable", Message: "parkd answered 502 Bad Gateway"}},
		{"bare 404", 404, `404 page not found`, parkd.Error{Code: "internal", Message: "parkd answered 404 Not Found"}},
		{"code without message", 503, `{"error":{"code":"unavailable"}}`, parkd.Error{Code: "unavailable", Message: "unavailable"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			d.answer(tc.status, tc.body)
			_, err := d.client(t).Slots(t.Context(), parkd.SlotFilter{})
			var e *parkd.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *parkd.Error", err, err)
			}
			if *e != tc.want {
				t.Errorf("got %+v, want %+v", *e, tc.want)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := New(addr, "t")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Status(t.Context())
	want := "cannot reach parkd at http://" + addr + ": connection refused"
	if parkd.ErrorCode(err) != parkd.CodeUnavailable || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	if _, err := c.Subscribe(t.Context(), 0); err == nil || err.Error() != want {
		t.Fatalf("Subscribe: got %v, want %q", err, want)
	}
}

// A daemon that accepts and never answers is cut off by the per-request
// timeout; the caller giving up gets its own context error back.
func TestTimeouts(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	c, _ := New(srv.URL, "t", WithTimeout(50*time.Millisecond))
	_, err := c.Lots(t.Context())
	if parkd.ErrorCode(err) != parkd.CodeUnavailable || !strings.Contains(err.Error(), "did not answer within 50ms") {
		t.Errorf("Lots: %v", err)
	}
	if _, err := c.Subscribe(t.Context(), 0); parkd.ErrorCode(err) != parkd.CodeUnavailable {
		t.Errorf("Subscribe: %v", err)
	}

	c, _ = New(srv.URL, "t", WithTimeout(0))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Lots(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lots with the caller's deadline: %v", err)
	}
}

// WithHTTPClient's client carries the requests, e.g. with TLS trust.
func TestTLSWithHTTPClient(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"lots":[{"name":"main"}]}`))
	}))
	defer srv.Close()
	c, _ := New(srv.URL, "t")
	if _, err := c.Lots(t.Context()); parkd.ErrorCode(err) != parkd.CodeUnavailable {
		t.Errorf("untrusted certificate: %v", err)
	}
	c, _ = New(srv.URL, "t", WithHTTPClient(srv.Client()))
	if lots, err := c.Lots(t.Context()); err != nil || len(lots) != 1 {
		t.Errorf("trusted: %v %v", lots, err)
	}
}
