package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/parkd/parkd/parkd"
)

// errorBody is the one error shape of the API; parkd.Error has the same
// JSON, so a Client's refusal crosses the wire unchanged.
type errorBody = parkd.Error

// Codes only the HTTP layer produces.
const (
	codeTooLarge         = "too_large"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
)

// statusOf is the HTTP status of a Client error code; "" for codes this
// layer does not know, which are then answered as internal faults.
func statusOf(code string) int {
	switch code {
	case parkd.CodeSlotFull, parkd.CodeLotFull, parkd.CodeSlotEmpty, parkd.CodeInvalidState:
		return http.StatusConflict
	case parkd.CodeNoSuchCall, parkd.CodeNoSuchSlot, parkd.CodeNoSuchLot, codeNotFound:
		return http.StatusNotFound
	case parkd.CodeInvalidField:
		return http.StatusBadRequest
	case parkd.CodeUnauthorized:
		return http.StatusUnauthorized
	case parkd.CodeInvalidConfig:
		return http.StatusUnprocessableEntity
	case parkd.CodeUnavailable:
		return http.StatusServiceUnavailable
	case codeTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return 0
}

// fail answers err: a *parkd.Error with a known code as itself, anything
// else as a generic 500 whose detail stays in the log, not the response.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var pe *parkd.Error
	if errors.As(err, &pe) {
		if st := statusOf(pe.Code); st != 0 {
			writeError(w, st, *pe)
			return
		}
	}
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		// The client left; nobody reads this answer and nothing is broken.
		writeError(w, http.StatusServiceUnavailable, errorBody{Code: parkd.CodeUnavailable, Message: "request canceled"})
		return
	}
	s.log.Error("api request failed", "method", r.Method, "route", r.Pattern, "err", err)
	writeInternal(w)
}

func writeInternal(w http.ResponseWriter) {
	writeError(w, http.StatusInternalServerError, errorBody{Code: parkd.CodeInternal, Message: "internal error; see the daemon's log"})
}

func writeUnauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", "Bearer")
	writeError(w, http.StatusUnauthorized, errorBody{Code: parkd.CodeUnauthorized, Message: "missing or invalid API token"})
}

func writeError(w http.ResponseWriter, status int, e errorBody) {
	_ = writeJSON(w, status, struct {
		Error errorBody `json:"error"`
	}{e})
}

// reply answers a successful request with v as JSON.
func (s *server) reply(w http.ResponseWriter, r *http.Request, v any) {
	if err := writeJSON(w, http.StatusOK, v); err != nil {
		s.log.Error("api response not encodable", "method", r.Method, "route", r.Pattern, "err", err)
	}
}

// writeRaw writes an already encoded JSON body.
func writeRaw(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte{'\n'})
}

// writeJSON marshals before writing, so a value that cannot be encoded
// (a time past year 9999) becomes a clean 500 rather than half a body.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error; see the daemon's log"}}`)
	}
	writeRaw(w, status, b) // no append: it would copy a large list once more
	return err
}
