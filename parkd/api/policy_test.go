package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
)

// encodePolicyPatch is the body a client sends for patch: the set fields
// with their values, the cleared ones as null.
func encodePolicyPatch(p parkd.PolicyPatch) (string, error) {
	m := map[string]any{}
	b, err := json.Marshal(p.Set)
	if err != nil {
		return "", err
	}
	var set map[string]json.RawMessage
	if err := json.Unmarshal(b, &set); err != nil {
		return "", err
	}
	for k, v := range set {
		if string(v) != "null" {
			m[k] = v
		}
	}
	for _, k := range p.Clear {
		m[k] = nil
	}
	b, err = json.Marshal(m)
	return string(b), err
}

func TestPolicyRoutes(t *testing.T) {
	tests := []struct {
		name, method, target, body string
		status                     int
		asked, want                string
	}{
		{"get defaults", "GET", "/api/v1/policies/defaults", "", 200, "Policy defaults", `"scope":"defaults"`},
		{"get lot", "GET", "/api/v1/policies/lots/main", "", 200, "Policy lots/main", `"sources":{"recall_after":{"layer":"built-in"`},
		{"get slot", "GET", "/api/v1/policies/slots/701", "", 200, "Policy slots/701", `"override":{"recall_after":"45s"`},
		{"no lot", "GET", "/api/v1/policies/lots/nope", "", 404, "Policy lots/nope", `"code":"no_such_lot"`},
		{"no slot", "DELETE", "/api/v1/policies/slots/999", "", 404, "ClearPolicy slots/999", `"code":"no_such_slot"`},
		{"clear", "DELETE", "/api/v1/policies/lots/main", "", 200, "ClearPolicy lots/main", `"override":{"ring_group":null}`},
		{"patch set and clear", "PATCH", "/api/v1/policies/slots/701",
			`{"recall_after":"30s","ring_group":["sip:1@x","sip:2@x"],"max_recalls":2,"on_failure":"forward","forward_to":"sip:vm@x","moh":null}`, 200,
			`PatchPolicy slots/701 {"forward_to":"sip:vm@x","max_recalls":2,"moh":null,"on_failure":"forward","recall_after":"30s","ring_group":["sip:1@x","sip:2@x"]}`,
			`"recall_after":"30s"`},
		{"patch clear only", "PATCH", "/api/v1/policies/defaults", `{"recall_after":null,"ring_group":null}`, 200,
			`PatchPolicy defaults {"recall_after":null,"ring_group":null}`, `"scope":"defaults"`},
		{"patch empty ring group sets it", "PATCH", "/api/v1/policies/defaults", `{"ring_group":[]}`, 200,
			`PatchPolicy defaults {"ring_group":[]}`, `"ring_group":[]`},
		{"patch empty", "PATCH", "/api/v1/policies/defaults", ``, 200, `PatchPolicy defaults {}`, `"scope":"defaults"`},
		{"patch out of range (the client's check)", "PATCH", "/api/v1/policies/defaults", `{"recall_after":"2s"}`, 400,
			`PatchPolicy defaults {"recall_after":"2s"}`, `"field":"recall_after"`},
		{"patch unknown key", "PATCH", "/api/v1/policies/defaults", `{"recall_afterr":"30s"}`, 400, "", `"field":"recall_afterr"`},
		{"patch bare number", "PATCH", "/api/v1/policies/defaults", `{"ring_parker_for":30}`, 400, "", `plain number 30 is not a duration`},
		{"patch wrong type", "PATCH", "/api/v1/policies/defaults", `{"max_recalls":"three"}`, 400, "", `"message":"must be a whole number"`},
		{"patch list of numbers", "PATCH", "/api/v1/policies/defaults", `{"ring_group":[1]}`, 400, "", `"message":"must be a list of strings"`},
		{"patch array body", "PATCH", "/api/v1/policies/defaults", `["recall_after"]`, 400, "", `"field":"body"`},
		{"patch twice", "PATCH", "/api/v1/policies/defaults", `{"moh":"a","moh":null}`, 400, "", `"field":"moh"`},
		{"patch trailing data", "PATCH", "/api/v1/policies/defaults", `{"moh":"a"} {}`, 400, "", `"field":"body"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f, _ := newTestServer(t)
			w := do(t, s, tt.method, tt.target, tt.body)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if got := f.lastAsked(); got != tt.asked {
				t.Errorf("asked %s\nwant  %s", got, tt.asked)
			}
			if !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("body %s\nwant it to contain %s", w.Body, tt.want)
			}
		})
	}
}

// Every key of parkd.Policy is patchable and clearable: the decoder reads
// the type's own JSON names, so a key added there needs no change here.
func TestPolicyPatchKnowsEveryKey(t *testing.T) {
	keys := []string{"recall_after", "ring_parker_for", "recall_to", "ring_group", "ring_group_for", "on_failure",
		"forward_to", "max_recalls", "presence_type", "presence_id", "moh"}
	if got := sortedKeys(jsonFields(&parkd.Policy{})); len(got) != len(keys) {
		t.Errorf("policy keys %v, the spec lists %v", got, keys)
	}
	full := parkd.BuiltinPolicy()
	full.RingGroup = []string{"sip:1@x"}
	body, err := encodePolicyPatch(parkd.PolicyPatch{Set: full})
	if err != nil {
		t.Fatal(err)
	}
	p, err := decodePolicyPatch([]byte(body))
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if !reflect.DeepEqual(p.Set, full) || len(p.Clear) != 0 {
		t.Errorf("decoded %+v from %s", p, body)
	}
	body, _ = encodePolicyPatch(parkd.PolicyPatch{Clear: keys})
	p, err = decodePolicyPatch([]byte(body))
	if err != nil || len(p.Clear) != len(keys) || !reflect.DeepEqual(p.Set, parkd.Policy{}) {
		t.Errorf("clear all: %+v, %v", p, err)
	}
	d := parkd.Duration(90 * time.Second)
	if p, _ := decodePolicyPatch([]byte(`{"recall_after":"1m30s"}`)); p.Set.RecallAfter == nil || *p.Set.RecallAfter != d {
		t.Errorf("recall_after: %+v", p.Set)
	}
}
