package apiclient

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
)

func ptr[T any](v T) *T { return &v }

// Each operation sends the documented method, path, query and body, with
// the token, and decodes the documented answer.
func TestRequests(t *testing.T) {
	since := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	ra := parkd.Duration(2 * time.Minute)
	cases := []struct {
		name   string
		do     func(context.Context, *Client) (any, error)
		answer string
		method string
		path   string
		query  string
		body   string
		want   any
	}{
		{"status", func(ctx context.Context, c *Client) (any, error) { return c.Status(ctx) },
			`{"version":"1.2","sip":["udp://127.0.0.1:5060"],"calls":3,"last_event":9}`,
			"GET", "/api/v1/status", "", "",
			parkd.Status{Version: "1.2", SIP: []string{"udp://127.0.0.1:5060"}, Calls: 3, LastEvent: 9}},
		{"lots", func(ctx context.Context, c *Client) (any, error) { return c.Lots(ctx) },
			`{"lots":[{"name":"main","extension":"700","slots":"701-720","total":20,"used":1}]}`,
			"GET", "/api/v1/lots", "", "",
			[]parkd.LotView{{Name: "main", Extension: "700", Slots: "701-720", Total: 20, Used: 1}}},
		{"slots filtered", func(ctx context.Context, c *Client) (any, error) {
			return c.Slots(ctx, parkd.SlotFilter{Lot: "main", State: "parked"})
		},
			`{"slots":[{"lot":"main","slot":"701","state":"parked","call":{"id":"c1","caller":{"uri":"sip:a@x"}}}]}`,
			"GET", "/api/v1/slots", "lot=main&state=parked", "",
			[]parkd.SlotView{{Lot: "main", Slot: "701", State: "parked", Call: &parkd.CallView{ID: "c1", Caller: parkd.Party{URI: "sip:a@x"}}}}},
		{"slots unfiltered", func(ctx context.Context, c *Client) (any, error) { return c.Slots(ctx, parkd.SlotFilter{}) },
			`{"slots":[]}`, "GET", "/api/v1/slots", "", "", []parkd.SlotView{}},
		{"slot", func(ctx context.Context, c *Client) (any, error) { return c.Slot(ctx, "701") },
			`{"lot":"main","slot":"701","state":"free","call":null}`,
			"GET", "/api/v1/slots/701", "", "", parkd.SlotView{Lot: "main", Slot: "701", State: "free"}},
		{"calls", func(ctx context.Context, c *Client) (any, error) {
			return c.Calls(ctx, parkd.CallFilter{State: "queued"})
		},
			`{"calls":[{"id":"c9","state":"queued","position":1,"caller":{"uri":"sip:b@x"}}]}`,
			"GET", "/api/v1/calls", "state=queued", "",
			[]parkd.CallView{{ID: "c9", State: "queued", Position: 1, Caller: parkd.Party{URI: "sip:b@x"}}}},
		{"call id escaped", func(ctx context.Context, c *Client) (any, error) { return c.Call(ctx, "a/b c") },
			`{"id":"a/b c"}`, "GET", "/api/v1/calls/a%2Fb%20c", "", "", parkd.CallView{ID: "a/b c"}},
		{"park", func(ctx context.Context, c *Client) (any, error) {
			return c.Park(ctx, "c1", parkd.ParkRequest{Slot: "705", RecallAfter: &ra})
		},
			`{"id":"c1","state":"parked","slot":"705"}`,
			"POST", "/api/v1/calls/c1/park", "", `{"slot":"705","recall_after":"2m"}`,
			parkd.CallView{ID: "c1", State: "parked", Slot: "705"}},
		{"retrieve", func(ctx context.Context, c *Client) (any, error) {
			return c.Retrieve(ctx, "701", parkd.RetrieveRequest{To: "sip:op@x"})
		},
			`{"slot":"701","state":"retrieving"}`,
			"POST", "/api/v1/slots/701/retrieve", "", `{"to":"sip:op@x"}`, parkd.SlotView{Slot: "701", State: "retrieving"}},
		{"retrieve to the operator", func(ctx context.Context, c *Client) (any, error) {
			return c.Retrieve(ctx, "701", parkd.RetrieveRequest{})
		},
			`{"slot":"701"}`, "POST", "/api/v1/slots/701/retrieve", "", `{}`, parkd.SlotView{Slot: "701"}},
		{"move", func(ctx context.Context, c *Client) (any, error) { return c.Move(ctx, "701", "702") },
			`{"slot":"702","state":"parked"}`,
			"POST", "/api/v1/slots/701/move", "", `{"to":"702"}`, parkd.SlotView{Slot: "702", State: "parked"}},
		{"transfer", func(ctx context.Context, c *Client) (any, error) { return c.Transfer(ctx, "c1", "sip:b@x") },
			`{"id":"c1","state":"ringing"}`,
			"POST", "/api/v1/calls/c1/transfer", "", `{"to":"sip:b@x"}`, parkd.CallView{ID: "c1", State: "ringing"}},
		{"transfer to the operator", func(ctx context.Context, c *Client) (any, error) { return c.Transfer(ctx, "c1", "") },
			`{"id":"c1"}`, "POST", "/api/v1/calls/c1/transfer", "", `{}`, parkd.CallView{ID: "c1"}},
		{"hangup", func(ctx context.Context, c *Client) (any, error) { return c.Hangup(ctx, "c1") },
			`{"id":"c1","state":"ended"}`, "POST", "/api/v1/calls/c1/hangup", "", "", parkd.CallView{ID: "c1", State: "ended"}},
		{"policy defaults", func(ctx context.Context, c *Client) (any, error) { return c.Policy(ctx, "defaults") },
			`{"scope":"defaults","effective":{"ring_group":null,"max_recalls":3},"sources":{"max_recalls":{"layer":"builtin","key":"max_recalls"}},"override":{"ring_group":null}}`,
			"GET", "/api/v1/policies/defaults", "", "",
			parkd.PolicyView{Scope: "defaults", Effective: parkd.Policy{MaxRecalls: ptr(3)},
				Sources: map[string]parkd.PolicySource{"max_recalls": {Layer: "builtin", Key: "max_recalls"}}}},
		{"policy lot", func(ctx context.Context, c *Client) (any, error) { return c.Policy(ctx, "lots/front desk") },
			`{"scope":"lots/front desk"}`, "GET", "/api/v1/policies/lots/front%20desk", "", "", parkd.PolicyView{Scope: "lots/front desk"}},
		{"patch policy", func(ctx context.Context, c *Client) (any, error) {
			return c.PatchPolicy(ctx, "slots/701", parkd.PolicyPatch{
				Set:   parkd.Policy{RecallAfter: &ra, MaxRecalls: ptr(0)},
				Clear: []string{"ring_group", "forward_to"},
			})
		},
			`{"scope":"slots/701"}`, "PATCH", "/api/v1/policies/slots/701", "",
			`{"recall_after":"2m","max_recalls":0,"ring_group":null,"forward_to":null}`, parkd.PolicyView{Scope: "slots/701"}},
		{"patch empty ring group", func(ctx context.Context, c *Client) (any, error) {
			return c.PatchPolicy(ctx, "defaults", parkd.PolicyPatch{Set: parkd.Policy{RingGroup: []string{}}})
		},
			`{"scope":"defaults"}`, "PATCH", "/api/v1/policies/defaults", "", `{"ring_group":[]}`, parkd.PolicyView{Scope: "defaults"}},
		{"clear policy", func(ctx context.Context, c *Client) (any, error) { return c.ClearPolicy(ctx, "lots/main") },
			`{"scope":"lots/main"}`, "DELETE", "/api/v1/policies/lots/main", "", "", parkd.PolicyView{Scope: "lots/main"}},
		{"history", func(ctx context.Context, c *Client) (any, error) {
			return c.History(ctx, parkd.HistoryFilter{Lot: "main", Slot: "701", Caller: "alice", Outcome: "retrieved",
				Since: since, Until: since.Add(time.Hour), Limit: 50, Cursor: "abc"})
		},
			`{"entries":[{"id":7,"slot":"701","outcome":"retrieved","parked":"1m5s"}],"next":"def"}`,
			"GET", "/api/v1/history",
			"caller=alice&cursor=abc&limit=50&lot=main&outcome=retrieved&since=2025-03-01T09%3A30%3A00Z&slot=701&until=2025-03-01T10%3A30%3A00Z", "",
			parkd.HistoryPage{Entries: []parkd.HistoryEntry{{ID: 7, Slot: "701", Outcome: "retrieved", Parked: parkd.Duration(65 * time.Second)}}, Next: "def"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			d.answer(200, tc.answer)
			got, err := tc.do(t.Context(), d.client(t))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
			r := d.last(t)
			if r.Method != tc.method || r.Path != tc.path || r.Query != tc.query {
				t.Errorf("request %s %s?%s, want %s %s?%s", r.Method, r.Path, r.Query, tc.method, tc.path, tc.query)
			}
			if r.Auth != "Bearer "+testToken {
				t.Errorf("Authorization %q", r.Auth)
			}
			if !sameJSON(t, r.Body, tc.body) {
				t.Errorf("body %s, want %s", r.Body, tc.body)
			}
			if tc.body != "" && r.ContentType != "application/json" {
				t.Errorf("Content-Type %q", r.ContentType)
			}
		})
	}
}

// A scope that is not one of the three forms never leaves the client, so
// it cannot reach another route.
func TestBadScope(t *testing.T) {
	d := newFakeDaemon(t)
	for _, scope := range []string{"", "lots", "lots/", "calls/x", "../status"} {
		_, err := d.client(t).Policy(t.Context(), scope)
		if parkd.ErrorCode(err) != parkd.CodeInvalidField {
			t.Errorf("scope %q: %v, want invalid_field", scope, err)
		}
	}
	if len(d.seen) != 0 {
		t.Errorf("bad scopes reached the daemon: %v", d.seen)
	}
}

func TestSetAndClearSameKey(t *testing.T) {
	d := newFakeDaemon(t)
	_, err := d.client(t).PatchPolicy(t.Context(), "defaults", parkd.PolicyPatch{
		Set: parkd.Policy{MaxRecalls: ptr(2)}, Clear: []string{"max_recalls"}})
	var e *parkd.Error
	if !errorsAs(err, &e) || e.Code != parkd.CodeInvalidField || e.Field != "max_recalls" {
		t.Fatalf("got %v", err)
	}
}

func TestBaseURL(t *testing.T) {
	cases := []struct{ in, want, bad string }{
		{in: "http://127.0.0.1:7080", want: "http://127.0.0.1:7080"},
		{in: "http://127.0.0.1:7080/", want: "http://127.0.0.1:7080"},
		{in: "127.0.0.1:7080", want: "http://127.0.0.1:7080"},
		{in: "localhost:7080", want: "http://localhost:7080"},
		{in: "https://parkd.example:7443", want: "https://parkd.example:7443"},
		{in: "http://127.0.0.1:7080/api/v1/", want: "http://127.0.0.1:7080"},
		{in: "https://proxy.example/parkd/", want: "https://proxy.example/parkd"},
		{in: "", bad: "no parkd API address"},
		{in: "ftp://x:1", bad: "scheme"},
		{in: "http://", bad: "no host"},
	}
	for _, tc := range cases {
		c, err := New(tc.in, "t")
		if tc.bad != "" {
			if err == nil || !contains(err.Error(), tc.bad) {
				t.Errorf("New(%q) = %v, want an error with %q", tc.in, err, tc.bad)
			}
			continue
		}
		if err != nil || c.BaseURL() != tc.want {
			t.Errorf("New(%q) = %v %v, want %s", tc.in, c, err, tc.want)
		}
	}
}
