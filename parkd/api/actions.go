package api

import (
	"net/http"
)

// Each action answers with the view of what it changed, so a script needs
// no second request to see the result.

func (s *server) park(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeBody(s, w, r, decodePark)
	if !ok {
		return
	}
	v, err := s.c.Park(r.Context(), r.PathValue("id"), req)
	s.answer(w, r, v, err)
}

func (s *server) retrieve(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeBody(s, w, r, decodeRetrieve)
	if !ok {
		return
	}
	v, err := s.c.Retrieve(r.Context(), r.PathValue("slot"), req)
	s.answer(w, r, v, err)
}

func (s *server) move(w http.ResponseWriter, r *http.Request) {
	to, ok := decodeBody(s, w, r, decodeMove)
	if !ok {
		return
	}
	v, err := s.c.Move(r.Context(), r.PathValue("slot"), to)
	s.answer(w, r, v, err)
}

func (s *server) transfer(w http.ResponseWriter, r *http.Request) {
	to, ok := decodeBody(s, w, r, decodeTransfer)
	if !ok {
		return
	}
	v, err := s.c.Transfer(r.Context(), r.PathValue("id"), to)
	s.answer(w, r, v, err)
}

func (s *server) hangup(w http.ResponseWriter, r *http.Request) {
	if _, ok := decodeBody(s, w, r, decodeEmpty); !ok {
		return
	}
	v, err := s.c.Hangup(r.Context(), r.PathValue("id"))
	s.answer(w, r, v, err)
}

// decodeBody reads and decodes r's body, answering the error itself.
func decodeBody[T any](s *server, w http.ResponseWriter, r *http.Request, decode func([]byte) (T, error)) (T, bool) {
	var zero T
	b, err := readBody(w, r)
	if err == nil {
		var v T
		if v, err = decode(b); err == nil {
			return v, true
		}
	}
	s.fail(w, r, err)
	return zero, false
}
