package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/clienttest"
	"github.com/parkd/parkd/sipcore/siptest"
)

// compatRig is a daemon whose lot has the reference docs' slot numbers
// (1–9), Alice on the line with Bob (an extension) through parkd.
type compatRig struct {
	*clienttest.Daemon
	t     *testing.T
	alice *siptest.Call // the outside caller
	bob   *siptest.Call // the extension's phone
	bobID string        // the API id of the extension's leg
}

func startCompat(t *testing.T) *compatRig {
	bobPhone := siptest.NewPhone(t, "bob", siptest.WithDisplay("Bob"))
	d := clienttest.Start(t, func(c *parkd.Config) {
		lot := parkd.DefaultLot()
		lot.RetrieveExtension, lot.Slots, lot.Operator = "", "1-9", bobPhone.URI()
		c.Lots = []parkd.LotConfig{lot}
		c.RingGroups = map[string][]string{"front": {"sip:201@127.0.0.1:5999", "sip:202@127.0.0.1:5999"}}
	})
	r := &compatRig{Daemon: d, t: t}
	r.alice, r.bob, r.bobID = r.connect(siptest.NewPhone(t, "alice", siptest.WithDisplay("Alice")), bobPhone)
	return r
}

// connect queues caller and transfers it to the extension's phone, which
// answers: two calls bridged through parkd, as a PBX would hand them over.
func (r *compatRig) connect(caller, ext *siptest.Phone) (*siptest.Call, *siptest.Call, string) {
	t := r.t
	call := r.Dial(caller, "0", 200, siptest.CallOptions{})
	q := r.WaitEvent(parkd.EventQueued, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.Server.Transfer(ctx, q.Call.ID, ext.URI()); err != nil {
		t.Fatal(err)
	}
	in, err := ext.Incoming(ctx)
	if err != nil {
		t.Fatal(err)
	}
	extCall, err := in.Answer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.WaitEvent(parkd.EventDequeued, "")
	v, err := r.Server.Call(ctx, q.Call.ID)
	if err != nil || v.Peer == "" {
		t.Fatalf("after the transfer: %+v %v", v, err)
	}
	return call, extCall, v.Peer
}

// do sends a request with the token and decodes the JSON answer.
func (r *compatRig) do(method, path, body string) (int, map[string]any, []any) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.URL+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var obj map[string]any
	var arr []any
	if len(bytes.TrimSpace(b)) > 0 && json.Unmarshal(b, &obj) != nil && json.Unmarshal(b, &arr) != nil {
		r.t.Fatalf("%s %s: not JSON: %s", method, path, b)
	}
	return resp.StatusCode, obj, arr
}

func errorOf(body map[string]any) (code, field, message string) {
	e, _ := body["error"].(map[string]any)
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	message, _ = e["message"].(string)
	return
}

// valet_park with the bodies its docs print: park the other party into
// slot 6, ask who is in 6, refuse a second park there, bridge to it.
func TestValetPark(t *testing.T) {
	r := startCompat(t)
	aliceView, _ := r.Server.Calls(context.Background(), parkd.CallFilter{})
	path := "/extension/341/valet_park/" + r.bobID

	status, body, _ := r.do("PUT", path, `{"action": "park", "slot": "6"}`)
	if status != 200 || body["slot"] != "6" || body["state"] != "parked" {
		t.Fatalf("park: %d %v", status, body)
	}
	if parker, _ := body["parker"].(map[string]any); parker == nil || !strings.Contains(parker["uri"].(string), "bob@") {
		t.Errorf("parker %v, want the extension (bob), who gets the recall", body["parker"])
	}
	if at, _ := time.Parse(time.RFC3339Nano, body["recall_at"].(string)); time.Until(at) < 2*time.Minute || time.Until(at) > 3*time.Minute {
		t.Errorf("recall_at %v, want valet_park's 3 minutes", body["recall_at"])
	}
	if _, err := r.bob.WaitHangup(ctxFor(t)); err != nil {
		t.Errorf("the extension's leg was not hung up: %v", err)
	}
	clienttest.AssertMusic(t, r.alice)

	status, body, _ = r.do("PUT", path, `{ "action": "slots", "slot" : "6" }`)
	if status != 200 || body["slot"] != "6" || body["UUID"] != callIDOf(aliceView, "alice@") {
		t.Errorf("slots: %d %v, want slot 6 with Alice's Call-ID %s", status, body, callIDOf(aliceView, "alice@"))
	}

	dave := r.Dial(siptest.NewPhone(t, "dave"), "0", 200, siptest.CallOptions{})
	daveID := r.WaitEvent(parkd.EventQueued, "").Call.ID
	status, body, _ = r.do("PUT", "/extension/341/valet_park/"+daveID, `{"action": "park", "slot": 6}`)
	if code, _, msg := errorOf(body); status != 409 || code != parkd.CodeSlotFull || !strings.Contains(msg, "slot is full") {
		t.Errorf("park into the full slot: %d %v", status, body)
	}

	status, body, _ = r.do("PUT", "/extension/341/valet_park/"+daveID, `{"action": "bridge", "slot": "6"}`)
	if status != 200 || body["state"] != "bridged" {
		t.Fatalf("bridge: %d %v", status, body)
	}
	clienttest.AssertAudio(t, dave, r.alice)
	clienttest.AssertAudio(t, r.alice, dave)

	status, body, _ = r.do("PUT", path, `{"action": "dance"}`)
	if code, field, _ := errorOf(body); status != 400 || code != parkd.CodeInvalidField || field != "action" {
		t.Errorf("unknown action: %d %v", status, body)
	}
}

// bridge with no slot takes the call that has waited longest.
func TestValetBridgeAnySlot(t *testing.T) {
	r := startCompat(t)
	if status, body, _ := r.do("PUT", "/extension/341/valet_park/"+r.bobID, `{"action": "park", "slot": "3"}`); status != 200 {
		t.Fatalf("park: %d %v", status, body)
	}
	carol := r.Dial(siptest.NewPhone(t, "carol"), "0", 200, siptest.CallOptions{})
	carolID := r.WaitEvent(parkd.EventQueued, "").Call.ID
	status, body, _ := r.do("PUT", "/extension/341/valet_park/"+carolID, `{"action": "bridge"}`)
	if status != 200 || body["state"] != "bridged" {
		t.Fatalf("bridge to any slot: %d %v", status, body)
	}
	clienttest.AssertAudio(t, carol, r.alice)
}

// VoipNow UAPI: park a phone call with the docs' body; maxInParking is the
// call's own recall time; its two errors.
func TestUAPIPark(t *testing.T) {
	r := startCompat(t)
	path := "/uapi/phoneCalls/12/0003*210/"
	status, body, _ := r.do("PUT", path+r.bobID, `{"action":"Park", "maxInParking":"5", "phoneCallViewId":"01"}`)
	if code, _, _ := errorOf(body); status != 400 || code != "pc_parktimeout_invalid" {
		t.Errorf("maxInParking 5: %d %v, want 400 pc_parktimeout_invalid", status, body)
	}
	status, body, _ = r.do("PUT", path+"b817d2618fe6f1804333", `{"action":"Park", "maxInParking":"30", "phoneCallViewId":"01"}`)
	if code, _, _ := errorOf(body); status != 400 || code != "pc_phonecall_invalid" {
		t.Errorf("unknown call: %d %v, want 400 pc_phonecall_invalid", status, body)
	}

	status, _, arr := r.do("PUT", path+r.bobID, `{
  "action":"Park", 
  "maxInParking":"30",
  "phoneCallViewId":"01"
}`)
	if status != 200 || len(arr) != 1 {
		t.Fatalf("park: %d %v", status, arr)
	}
	view := arr[0].(map[string]any)["phoneCallView"].([]any)[0].(map[string]any)
	if view["parkedPos"] != "1" || view["parkedBy"] != "0003*210" || !strings.HasPrefix(view["callerId"].(string), "Alice <alice") {
		t.Errorf("phoneCallView %v, want Alice parked in 1 by 0003*210", view)
	}
	sl, err := r.Server.Slot(ctxFor(t), "1")
	if err != nil || sl.Call == nil || sl.Call.RecallAt == nil {
		t.Fatalf("slot 1: %+v %v", sl, err)
	}
	if left := time.Until(*sl.Call.RecallAt); left < 20*time.Second || left > 30*time.Second {
		t.Errorf("recall in %v, want maxInParking's 30 s", left)
	}
}

// The call park server settings API, with the body its docs print (whose
// placeholder extension_number is refused by that API's own rule) and
// with real values, mapped onto the first lot's overrides.
func TestCallParkSettings(t *testing.T) {
	r := startCompat(t)
	status, body, _ := r.do("GET", "/api/call_park", "")
	if status != 200 || body["enabled"] != true || body["extension_number"] != "700" || body["recall_to"] != "USER_FIRST_THEN_RING_GROUP" ||
		body["recall_time"] != 45.0 || body["ring_group_id"] != "" {
		t.Errorf("GET: %d %v, want the defaults (45 s, parker then group, no group)", status, body)
	}

	printed := `{
"enabled": true,
"extension_number": "text",
"recall_to": "USER_ONLY",
"recall_time": 300,
"recall_ring_group_time": 300,
"ring_group_id": "NzAwNTUxOTA5NzczMTQ4MTYw",
"prompt_file_id": "NzAwNTUxOTA5NzczMTQ4MTYw"
}`
	status, body, _ = r.do("POST", "/api/call_park", printed)
	if code, field, _ := errorOf(body); status != 400 || code != parkd.CodeInvalidField || field != "extension_number" {
		t.Errorf("the docs' body: %d %v, want 400 naming extension_number", status, body)
	}

	tests := []struct {
		name, body, field string
	}{
		{"recall_time too short", `{"recall_time": 30}`, "recall_time"},
		{"ring group time too long", `{"recall_ring_group_time": 901}`, "recall_ring_group_time"},
		{"ring group time over parkd's 10m", `{"recall_ring_group_time": 700}`, "recall_ring_group_time"},
		{"group without id", `{"recall_to": "RING_GROUP_ONLY"}`, "ring_group_id"},
		{"unknown group", `{"recall_to": "RING_GROUP_ONLY", "ring_group_id": "back"}`, "ring_group_id"},
		{"bad recall_to", `{"recall_to": "EVERYONE"}`, "recall_to"},
		{"disable", `{"enabled": false}`, "enabled"},
		{"other extension", `{"extension_number": "800"}`, "extension_number"},
		{"unknown field", `{"colour": "red"}`, "colour"},
	}
	for _, tt := range tests {
		status, body, _ := r.do("POST", "/api/call_park", tt.body)
		if code, field, _ := errorOf(body); status != 400 || code != parkd.CodeInvalidField || field != tt.field {
			t.Errorf("%s: %d %v, want 400 naming %s", tt.name, status, body, tt.field)
		}
	}

	real := strings.Replace(strings.Replace(printed, `"text"`, `"700"`, 1), `"USER_ONLY"`, `"USER_FIRST_THEN_RING_GROUP"`, 1)
	real = strings.Replace(real, `"NzAwNTUxOTA5NzczMTQ4MTYw",
"prompt`, `"front",
"prompt`, 1)
	if status, body, _ := r.do("POST", "/api/call_park", real); status != 204 {
		t.Fatalf("POST: %d %v", status, body)
	}
	status, body, _ = r.do("GET", "/api/call_park", "")
	if status != 200 || body["recall_time"] != 300.0 || body["recall_ring_group_time"] != 300.0 || body["ring_group_id"] != "front" || body["recall_to"] != "USER_FIRST_THEN_RING_GROUP" {
		t.Errorf("GET after POST: %v", body)
	}
	pol, err := r.Server.Policy(ctxFor(t), "lots/main")
	if err != nil || pol.Override.RecallAfter == nil || pol.Override.RecallAfter.D() != 5*time.Minute || len(pol.Override.RingGroup) != 2 ||
		pol.Sources["recall_after"].Layer != parkd.LayerOverride {
		t.Errorf("lot override %+v (%v), want recall_after 5m and the front group as a live override", pol.Override, err)
	}
}

func callIDOf(calls []parkd.CallView, user string) string {
	for _, c := range calls {
		if strings.Contains(c.Caller.URI, user) {
			return c.CallID
		}
	}
	return ""
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}
