package api

import (
	"net/http"

	"github.com/parkd/parkd/parkd"
)

// reload re-reads the daemon's config file, as SIGHUP does. A Client that
// cannot reload (a remote console's) is answered unavailable.
func (s *server) reload(w http.ResponseWriter, r *http.Request) {
	if _, ok := decodeBody(s, w, r, decodeEmpty); !ok {
		return
	}
	rl, ok := s.c.(parkd.Reloader)
	if !ok {
		s.fail(w, r, &parkd.Error{Code: parkd.CodeUnavailable, Message: "this daemon cannot reload its config"})
		return
	}
	v, err := rl.Reload(r.Context())
	s.answer(w, r, v, err)
}
