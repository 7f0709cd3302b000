package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/parkd/parkd/parkd"
)

// TestRequests runs each route through the real handler over the fake:
// the status, what the Client was asked, and a fragment of the answer.
func TestRequests(t *testing.T) {
	tests := []struct {
		name, method, target, body string
		status                     int
		asked                      string // the Client call the request made
		want                       string // a fragment of the body
	}{
		{"status", "GET", "/api/v1/status", "", 200, "Status", `"version":"v-test"`},
		{"lots", "GET", "/api/v1/lots", "", 200, "Lots", `{"lots":[{"name":"main"`},
		{"slots", "GET", "/api/v1/slots", "", 200, "Slots lot= state=", `"slot":"703"`},
		{"slots filtered", "GET", "/api/v1/slots?lot=main&state=parked", "", 200, "Slots lot=main state=parked", `{"slots":[{"lot":"main","slot":"701"`},
		{"slots none match", "GET", "/api/v1/slots?state=recalling", "", 200, "Slots lot= state=recalling", `{"slots":[]}`},
		{"slots no lot", "GET", "/api/v1/slots?lot=nope", "", 404, "Slots lot=nope state=", `"code":"no_such_lot"`},
		{"slot", "GET", "/api/v1/slots/701", "", 200, "Slot 701", `"call":{"id":"c1"`},
		{"free slot", "GET", "/api/v1/slots/702", "", 200, "Slot 702", `"call":null`},
		{"no slot", "GET", "/api/v1/slots/999", "", 404, "Slot 999", `"code":"no_such_slot"`},
		{"calls", "GET", "/api/v1/calls?state=queued&lot=main", "", 200, "Calls lot=main state=queued", `{"calls":[{"id":"q1"`},
		{"call", "GET", "/api/v1/calls/c1", "", 200, "Call c1", `"parker":{"number":"202"`},
		{"no call", "GET", "/api/v1/calls/zz", "", 404, "Call zz", `"code":"no_such_call"`},

		{"park empty body", "POST", "/api/v1/calls/q1/park", "", 200, "Park q1 slot= lot= recall_after= parker=", `"slot":"702"`},
		{"park options", "POST", "/api/v1/calls/q1/park", `{"slot":"703","lot":"main","recall_after":"2m","parker":"sip:9@x"}`, 200,
			"Park q1 slot=703 lot=main recall_after=2m parker=sip:9@x", `"state":"parked"`},
		{"park into full slot", "POST", "/api/v1/calls/q1/park", `{"slot":"701"}`, 409, "Park q1 slot=701 lot= recall_after= parker=", `"code":"slot_full"`},
		{"park parked call", "POST", "/api/v1/calls/c1/park", `{}`, 409, "Park c1 slot= lot= recall_after= parker=", `"code":"invalid_state"`},
		{"park unknown field", "POST", "/api/v1/calls/q1/park", `{"slott":"703"}`, 400, "", `"field":"slott"`},
		{"park bad duration", "POST", "/api/v1/calls/q1/park", `{"recall_after":45}`, 400, "", `"field":"recall_after"`},
		{"park malformed", "POST", "/api/v1/calls/q1/park", `{"slot":`, 400, "", `"field":"body"`},
		{"retrieve", "POST", "/api/v1/slots/701/retrieve", `{"to":"sip:201@pbx"}`, 200, "Retrieve 701 to=sip:201@pbx", `"state":"retrieving"`},
		{"retrieve empty body", "POST", "/api/v1/slots/701/retrieve", "", 200, "Retrieve 701 to=", `"ringing_to":"sip:operator@pbx"`},
		{"retrieve empty slot", "POST", "/api/v1/slots/702/retrieve", "", 409, "Retrieve 702 to=", `"code":"slot_empty"`},
		{"move", "POST", "/api/v1/slots/701/move", `{"to":"703"}`, 200, "Move 701 to=703", `"slot":"703","state":"parked"`},
		{"move without to", "POST", "/api/v1/slots/701/move", `{}`, 400, "", `"field":"to"`},
		{"move to nowhere", "POST", "/api/v1/slots/701/move", `{"to":"999"}`, 404, "Move 701 to=999", `"code":"no_such_slot"`},
		{"transfer", "POST", "/api/v1/calls/q1/transfer", `{"to":"sip:500@pbx"}`, 200, "Transfer q1 to=sip:500@pbx", `"ringing_to":"sip:500@pbx"`},
		{"transfer to operator", "POST", "/api/v1/calls/q1/transfer", ``, 200, "Transfer q1 to=", `"ringing_to":"sip:operator@pbx"`},
		{"hangup", "POST", "/api/v1/calls/c1/hangup", ``, 200, "Hangup c1", `"id":"c1"`},
		{"hangup {}", "POST", "/api/v1/calls/c1/hangup", `{}`, 200, "Hangup c1", `"id":"c1"`},
		{"hangup options", "POST", "/api/v1/calls/c1/hangup", `{"why":"x"}`, 400, "", `"field":"why"`},
		{"wrong content type parses", "POST", "/api/v1/slots/701/move", `{"to":"702"}`, 200, "Move 701 to=702", `"slot":"702"`},

		{"history", "GET", "/api/v1/history?lot=main&slot=702&caller=Bob&outcome=retrieved&since=2025-01-01T00:00:00Z&until=2025-02-01T00:00:00%2B01:00&limit=50&cursor=abc", "", 200,
			"History lot=main slot=702 caller=Bob outcome=retrieved since=2025-01-01T00:00:00Z until=2025-01-31T23:00:00Z limit=50 cursor=abc", `"next":"cur2"`},
		{"history bad since", "GET", "/api/v1/history?since=yesterday", "", 400, "", `"field":"since"`},
		{"history bad until", "GET", "/api/v1/history?until=2025-13-01T00:00:00Z", "", 400, "", `"field":"until"`},
		{"history until before since", "GET", "/api/v1/history?since=2025-02-01T00:00:00Z&until=2025-01-01T00:00:00Z", "", 400, "", `"field":"until"`},
		{"history limit 0", "GET", "/api/v1/history?limit=0", "", 400, "", `"field":"limit"`},
		{"history limit 1001", "GET", "/api/v1/history?limit=1001", "", 400, "", `"field":"limit"`},
		{"history limit word", "GET", "/api/v1/history?limit=ten", "", 400, "", `"field":"limit"`},
		{"history limit 1000", "GET", "/api/v1/history?limit=1000", "", 200, "History lot= slot= caller= outcome= since= until= limit=1000 cursor=", `"entries":[`},

		{"healthz", "GET", "/healthz", "", 200, "", `{"status":"ok"}`},
		{"openapi", "GET", "/api/v1/openapi.json", "", 200, "", `"openapi": "3.0.3"`},
		{"unknown route", "GET", "/api/v1/nope", "", 404, "", `"code":"not_found"`},
		{"unknown root", "GET", "/nope", "", 404, "", `"code":"not_found"`},
		{"wrong method", "DELETE", "/api/v1/lots", "", 405, "", `"code":"method_not_allowed"`},
		{"wrong method on action", "GET", "/api/v1/calls/c1/park", "", 405, "", `"code":"method_not_allowed"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f, _ := newTestServer(t)
			w := do(t, s, tt.method, tt.target, tt.body, "Content-Type", "text/plain")
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if got := f.lastAsked(); got != tt.asked {
				t.Errorf("asked %q, want %q", got, tt.asked)
			}
			if !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("body %s\nwant it to contain %s", w.Body, tt.want)
			}
			if w.Code >= 400 {
				apiError(t, w)
			}
		})
	}
}

func TestMethodNotAllowedSaysWhatIs(t *testing.T) {
	s, _, _ := newTestServer(t)
	w := do(t, s, "PUT", "/api/v1/policies/defaults", "")
	if w.Code != 405 {
		t.Fatalf("status %d", w.Code)
	}
	allow := w.Header().Get("Allow")
	for _, m := range []string{"GET", "PATCH", "DELETE"} {
		if !strings.Contains(allow, m) {
			t.Errorf("Allow %q lacks %s", allow, m)
		}
	}
}

// TestErrorStatus maps every Client error code to its status, and keeps
// the detail of anything unexpected out of the response but in the log.
func TestErrorStatus(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{&parkd.Error{Code: parkd.CodeSlotFull, Message: "m"}, 409, "slot_full"},
		{&parkd.Error{Code: parkd.CodeLotFull, Message: "m"}, 409, "lot_full"},
		{&parkd.Error{Code: parkd.CodeSlotEmpty, Message: "m"}, 409, "slot_empty"},
		{&parkd.Error{Code: parkd.CodeInvalidState, Message: "m"}, 409, "invalid_state"},
		{&parkd.Error{Code: parkd.CodeNoSuchCall, Message: "m"}, 404, "no_such_call"},
		{&parkd.Error{Code: parkd.CodeNoSuchSlot, Message: "m"}, 404, "no_such_slot"},
		{&parkd.Error{Code: parkd.CodeNoSuchLot, Message: "m"}, 404, "no_such_lot"},
		{&parkd.Error{Code: parkd.CodeInvalidField, Field: "slot", Message: "m"}, 400, "invalid_field"},
		{&parkd.Error{Code: parkd.CodeUnauthorized, Message: "m"}, 401, "unauthorized"},
		{&parkd.Error{Code: parkd.CodeUnavailable, Message: "m"}, 503, "unavailable"},
		{&parkd.Error{Code: parkd.CodeInternal, Message: "disk on fire"}, 500, "internal"},
		{&parkd.Error{Code: "brand_new", Message: "disk on fire"}, 500, "internal"},
		{errors.New("disk on fire"), 500, "internal"},
		{fmtWrap(&parkd.Error{Code: parkd.CodeSlotFull, Message: "m"}), 409, "slot_full"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error()+"/"+tt.code, func(t *testing.T) {
			s, f, logs := newTestServer(t)
			f.setFail(tt.err)
			w := do(t, s, "GET", "/api/v1/lots", "")
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			e := apiError(t, w)
			if e.Code != tt.code {
				t.Errorf("code %q, want %q", e.Code, tt.code)
			}
			if tt.status == 500 {
				if strings.Contains(w.Body.String(), "fire") {
					t.Errorf("500 leaks the detail: %s", w.Body)
				}
				if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "disk on fire") {
					t.Errorf("the real error is not logged at ERROR:\n%s", logs)
				}
			}
			if tt.code == "invalid_field" && e.Field != "slot" {
				t.Errorf("field %q lost", e.Field)
			}
		})
	}
}

func fmtWrap(err error) error { return errors.Join(errors.New("wrapped"), err) }

func TestBodyTooLarge(t *testing.T) {
	s, f, _ := newTestServer(t)
	big := `{"to":"` + strings.Repeat("x", 70<<10) + `"}`
	for _, target := range []string{"/api/v1/calls/q1/park", "/api/v1/slots/701/retrieve", "/api/v1/slots/701/move",
		"/api/v1/calls/q1/transfer", "/api/v1/calls/c1/hangup"} {
		w := do(t, s, "POST", target, big)
		if w.Code != http.StatusRequestEntityTooLarge || apiError(t, w).Code != "too_large" {
			t.Errorf("%s: status %d %s", target, w.Code, w.Body)
		}
	}
	w := do(t, s, "PATCH", "/api/v1/policies/defaults", big)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("patch: status %d", w.Code)
	}
	if len(f.asked) != 0 {
		t.Errorf("a refused body reached the client: %v", f.asked)
	}
	// Just under the limit is read (and refused for its content, not size).
	ok := `{"to":"` + strings.Repeat("x", 60<<10) + `"}`
	if w := do(t, s, "POST", "/api/v1/slots/701/move", ok); w.Code == http.StatusRequestEntityTooLarge {
		t.Errorf("60 KiB refused as too large")
	}
}

func TestPanicIsA500AndTheDaemonLives(t *testing.T) {
	s, f, logs := newTestServer(t)
	f.slots["701"] = nil // the fake dereferences it and panics
	w := do(t, s, "GET", "/api/v1/slots/701", "")
	if w.Code != 500 || apiError(t, w).Code != "internal" {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "panicked") {
		t.Errorf("panic not logged: %s", logs)
	}
	f.slots["701"] = &parkd.SlotView{Lot: "main", Slot: "701"}
	if w := do(t, s, "GET", "/api/v1/slots/701", ""); w.Code != 200 {
		t.Errorf("next request: %d", w.Code)
	}
}

func TestRequestLogNeverHasTheToken(t *testing.T) {
	s, _, logs := newTestServer(t)
	do(t, s, "GET", "/api/v1/slots/701", "")
	do(t, s, "GET", "/api/v1/slots/701", "", "Authorization", "Bearer wrong-"+testToken)
	out := logs.String()
	for _, want := range []string{"level=DEBUG", "method=GET", "route=\"GET /api/v1/slots/{slot}\"", "status=200", "status=401", "duration="} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, testToken) || strings.Contains(out, "Authorization") {
		t.Errorf("log shows the token:\n%s", out)
	}
}
