package api

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is kept by hand beside the code; the tests hold it to the
// router both ways and to the OpenAPI 3.0 schema.
//
//go:embed openapi.json
var openAPIDoc []byte

func (s *server) openapi(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPIDoc)
}
