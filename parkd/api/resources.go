package api

import (
	"net/http"

	"github.com/parkd/parkd/parkd"
)

// Lists are wrapped in an object so a field can be added beside them
// later without breaking clients, and never answer null.

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	s.reply(w, r, map[string]string{"status": "ok"})
}

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.c.Status(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if st.Version == "" {
		st.Version = s.version
	}
	st.SIP = orEmpty(st.SIP)
	st.Lots = orEmpty(st.Lots)
	s.reply(w, r, st)
}

func (s *server) lots(w http.ResponseWriter, r *http.Request) {
	lots, err := s.c.Lots(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, r, struct {
		Lots []parkd.LotView `json:"lots"`
	}{orEmpty(lots)})
}

func (s *server) slots(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	slots, err := s.c.Slots(r.Context(), parkd.SlotFilter{Lot: q.Get("lot"), State: q.Get("state")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := s.slotCache.encode(slots)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, body.Bytes())
	release(body)
}

func (s *server) slot(w http.ResponseWriter, r *http.Request) {
	v, err := s.c.Slot(r.Context(), r.PathValue("slot"))
	s.answer(w, r, v, err)
}

func (s *server) calls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	calls, err := s.c.Calls(r.Context(), parkd.CallFilter{Lot: q.Get("lot"), State: q.Get("state")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, r, struct {
		Calls []parkd.CallView `json:"calls"`
	}{orEmpty(calls)})
}

func (s *server) call(w http.ResponseWriter, r *http.Request) {
	v, err := s.c.Call(r.Context(), r.PathValue("id"))
	s.answer(w, r, v, err)
}

// answer replies with v, or with err when the Client refused.
func (s *server) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, r, v)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
