package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/parkd/parkd/parkd"
)

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDoc)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	return doc
}

func TestOpenAPIValid(t *testing.T) {
	doc := loadDoc(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.0") {
		t.Errorf("openapi %s", doc.OpenAPI)
	}
	if s := doc.Components.SecuritySchemes["bearerAuth"]; s == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
		t.Error("no bearerAuth scheme")
	}
	if doc.Components.Schemas["Error"] == nil {
		t.Error("no Error schema")
	}
	ev := doc.Paths.Find("/api/v1/events").Get
	if ev == nil || ev.Responses.Status(200).Value.Content.Get("text/event-stream") == nil {
		t.Error("events is not documented as text/event-stream")
	}
	// Served as it is embedded, to anyone holding the token.
	s, _, _ := newTestServer(t)
	w := do(t, s, "GET", "/api/v1/openapi.json", "")
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), openAPIDoc) || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("served %d %s", w.Code, w.Header())
	}
}

// TestOpenAPIMatchesRoutes walks both lists: every route is documented,
// and every documented operation is a route that answers.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadDoc(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for _, rt := range Routes() {
		if !documented[rt] {
			t.Errorf("route %s is not in openapi.json", rt)
		}
	}
	for _, op := range slices.Sorted(mapKeysOf(documented)) {
		if !slices.Contains(Routes(), op) {
			t.Errorf("openapi.json documents %s, which is no route", op)
			continue
		}
		method, path, _ := strings.Cut(op, " ")
		s, _, _ := newTestServer(t)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		w := doCtx(t, ctx, s, method, samplePath(path), "{}")
		cancel()
		if w.Code == http.StatusMethodNotAllowed || strings.Contains(w.Body.String(), `"code":"not_found"`) {
			t.Errorf("%s does not answer: %d %s", op, w.Code, w.Body)
		}
	}
}

func mapKeysOf(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestResponsesMatchOpenAPI validates real requests and answers, errors
// included, against the document, so its schemas cannot drift from the
// JSON the handler writes.
func TestResponsesMatchOpenAPI(t *testing.T) {
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	asText := func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(r)
		return string(b), err
	}
	for _, ct := range []string{"text/event-stream", "text/html"} { // the event stream, the profiles' index
		openapi3filter.RegisterBodyDecoder(ct, asText)
		defer openapi3filter.UnregisterBodyDecoder(ct)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}

	requests := []struct {
		method, target, body string
		status               int
	}{
		{"GET", "/healthz", "", 200},
		{"GET", "/metrics", "", 200},
		{"GET", "/debug/pprof/", "", 200},
		{"GET", "/debug/pprof/profile?seconds=121", "", 400},
		{"GET", "/api/v1/openapi.json", "", 200},
		{"GET", "/api/v1/status", "", 200},
		{"GET", "/api/v1/lots", "", 200},
		{"GET", "/api/v1/slots?state=parked", "", 200},
		{"GET", "/api/v1/slots?lot=nope", "", 404},
		{"GET", "/api/v1/slots/701", "", 200},
		{"GET", "/api/v1/slots/702", "", 200},
		{"GET", "/api/v1/slots/999", "", 404},
		{"GET", "/api/v1/calls", "", 200},
		{"GET", "/api/v1/calls?state=queued", "", 200},
		{"GET", "/api/v1/calls/c1", "", 200},
		{"GET", "/api/v1/calls/q1", "", 200},
		{"POST", "/api/v1/calls/q1/park", `{"slot":"702","lot":"main","recall_after":"1m30s","parker":"sip:1@x"}`, 200},
		{"POST", "/api/v1/calls/q1/park", `{"slot":"701"}`, 409},
		{"POST", "/api/v1/calls/q1/park", `{"sloth":"701"}`, 400},
		{"POST", "/api/v1/slots/701/retrieve", `{"to":"sip:1@x"}`, 200},
		{"POST", "/api/v1/slots/702/retrieve", `{}`, 409},
		{"POST", "/api/v1/slots/701/move", `{"to":"703"}`, 200},
		{"POST", "/api/v1/calls/q1/transfer", `{"to":"sip:1@x"}`, 200},
		{"POST", "/api/v1/calls/c1/hangup", `{}`, 200},
		{"POST", "/api/v1/calls/zz/hangup", `{}`, 404},
		{"POST", "/api/v1/slots/701/move", `{"to":"` + strings.Repeat("x", 70<<10) + `"}`, 413},
		{"GET", "/api/v1/policies/defaults", "", 200},
		{"PATCH", "/api/v1/policies/lots/main", `{"recall_after":"30s","ring_group":["sip:1@x"],"moh":null,"max_recalls":2}`, 200},
		{"PATCH", "/api/v1/policies/slots/701", `{"recall_after":"1s"}`, 400},
		{"DELETE", "/api/v1/policies/slots/703", "", 200},
		{"GET", "/api/v1/policies/lots/nope", "", 404},
		{"GET", "/api/v1/history?limit=5&since=2025-01-01T00:00:00Z", "", 200},
		{"GET", "/api/v1/history?limit=0", "", 400},
		{"GET", "/api/v1/events?last_event_id=1", "", 200},
		{"GET", "/api/v1/events?last_event_id=x", "", 400},
		{"GET", "/api/v1/lots", "unauthorized", 401},
	}
	for _, tt := range requests {
		t.Run(tt.method+" "+tt.target+" "+http.StatusText(tt.status), func(t *testing.T) {
			s, f, _ := newTestServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			// Two events, so a stream resuming after the first has one to send.
			f.publish(parkd.Event{Kind: parkd.EventParked, Lot: "main", Slot: "701", Call: f.calls["c1"]})
			f.publish(parkd.Event{Kind: parkd.EventPolicy, Lot: "main", Slot: "701", Policy: &parkd.Policy{}})
			body, hdr := tt.body, []string(nil)
			if body == "unauthorized" {
				body, hdr = "", []string{"Authorization", ""}
			}
			w := doCtx(t, ctx, s, tt.method, tt.target, body, hdr...)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatalf("no documented route: %v", err)
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
			if w.Code < 300 && body != "" {
				// What the handler accepted, the document accepts too.
				if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
					t.Errorf("accepted request does not match the document: %v", err)
				}
			}
			in.Request = httptest.NewRequest(tt.method, tt.target, nil)
			out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: w.Code, Header: w.Header(), Options: opts}
			out.SetBodyBytes(w.Body.Bytes())
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Errorf("response does not match the document: %v\n%s", err, truncate(w.Body.String()))
			}
		})
	}
}

func truncate(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}
