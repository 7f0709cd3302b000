package api

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// authorized reports whether r carries the API token. The comparison takes
// the same time whatever the guess, and an empty configured token admits
// nobody, so a daemon started without one fails closed.
func (s *server) authorized(r *http.Request) bool {
	if len(s.token) == 0 {
		return false
	}
	h := r.Header.Get("Authorization")
	// RFC 7235: the scheme is case-insensitive.
	if len(h) < len("Bearer ") || !strings.EqualFold(h[:len("Bearer ")], "Bearer ") {
		return false
	}
	got := strings.TrimSpace(h[len("Bearer "):])
	return subtle.ConstantTimeCompare([]byte(got), s.token) == 1
}
