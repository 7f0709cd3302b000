package api

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/parkd/parkd/parkd"
)

// Every body decoder either returns a value that survives a round trip
// through its own JSON, or an invalid_field error; it never panics.

var bodySeeds = []string{
	``, `{}`, `null`, `null null`, ` {} `, `[]`, `"x"`, `1`, `{`, `{"a":1,}`, `{} {}`, `{"slot":"701"}`,
	`{"slot":"701","lot":"main","recall_after":"30s","parker":"sip:1@x"}`, `{"recall_after":45}`, `{"recall_after":"-1s"}`,
	`{"recall_after":null}`, `{"to":"sip:1@x"}`, `{"to":1}`, `{"to":null}`, `{"to":"a","to":"b"}`, `{"\u0074o":"x"}`,
	`{"ring_group":["sip:1@x"],"max_recalls":3,"moh":null}`, `{"ring_group":[]}`, `{"max_recalls":1e400}`,
	`{"max_recalls":-1}`, `{"ring_group":{"a":1}}`, "{\"to\":\"\xff\"}", `{"x":{"y":[1,2,{"z":null}]}}`,
}

func checkDecoded[T any](t *testing.T, body []byte, v T, err error, redo func([]byte) (T, error), enc func(T) ([]byte, error), norm func(T) T) {
	t.Helper()
	if err != nil {
		var pe *parkd.Error
		if !errors.As(err, &pe) || pe.Code != parkd.CodeInvalidField || pe.Message == "" {
			t.Fatalf("%q: error %#v is not an invalid_field *parkd.Error", body, err)
		}
		return
	}
	b, err := enc(v)
	if err != nil {
		t.Fatalf("%q: decoded %+v does not encode: %v", body, v, err)
	}
	again, err := redo(b)
	if err != nil {
		t.Fatalf("%q: decoded %+v, its JSON %s is refused: %v", body, v, b, err)
	}
	if !reflect.DeepEqual(norm(again), norm(v)) {
		t.Fatalf("%q: decoded %+v, round trip %+v", body, v, again)
	}
}

func same[T any](v T) T { return v }

func FuzzDecodePark(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodePark(b)
		checkDecoded(t, b, v, err, decodePark, func(v parkd.ParkRequest) ([]byte, error) { return json.Marshal(v) }, same)
	})
}

func FuzzDecodeRetrieve(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeRetrieve(b)
		checkDecoded(t, b, v, err, decodeRetrieve, func(v parkd.RetrieveRequest) ([]byte, error) { return json.Marshal(v) }, same)
	})
}

func FuzzDecodeMove(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		to, err := decodeMove(b)
		if err == nil && to == "" {
			t.Fatalf("%q: no error and no destination", b)
		}
		checkDecoded(t, b, to, err, decodeMove, func(to string) ([]byte, error) { return json.Marshal(moveBody{to}) }, same)
	})
}

func FuzzDecodeTransfer(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		to, err := decodeTransfer(b)
		checkDecoded(t, b, to, err, decodeTransfer, func(to string) ([]byte, error) { return json.Marshal(transferBody{to}) }, same)
	})
}

func FuzzDecodePolicyPatch(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	known := jsonFields(&parkd.Policy{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePolicyPatch(b)
		if err == nil {
			for _, k := range p.Clear {
				if _, ok := known[k]; !ok {
					t.Fatalf("%q: clears unknown key %q", b, k)
				}
			}
		}
		checkDecoded(t, b, p, err, decodePolicyPatch,
			func(p parkd.PolicyPatch) ([]byte, error) { s, err := encodePolicyPatch(p); return []byte(s), err },
			func(p parkd.PolicyPatch) parkd.PolicyPatch {
				p.Clear = slices.Sorted(slices.Values(p.Clear))
				return p
			})
	})
}

func FuzzDecodeHangup(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeEmpty(b)
		checkDecoded(t, b, v, err, decodeEmpty, func(v struct{}) ([]byte, error) { return json.Marshal(v) }, same)
	})
}
