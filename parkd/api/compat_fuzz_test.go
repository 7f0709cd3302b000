package api

import (
	"errors"
	"testing"

	"github.com/parkd/parkd/parkd"
)

// The reference APIs' bodies decode to a value or to an invalid_field
// error naming a member, and call_park's checks refuse what is out of
// range with invalid_field too; nothing panics.

var compatSeeds = []string{
	`{"action": "park", "slot": "6"}`, `{ "action": "slots", "slot" : "6" }`, `{"action": "bridge"}`, `{"slot": 6.5}`,
	`{"slot": true}`, `{"slot": null}`, `{"slot": [1]}`, `{"slot": 1e999}`,
	`{"action":"Park", "maxInParking":"30", "phoneCallViewId":"01"}`, `{"maxInParking": 30}`, `{"maxInParking": "x"}`,
	`{"enabled": true, "extension_number": "text", "recall_to": "USER_ONLY", "recall_time": 300, "recall_ring_group_time": 300, "ring_group_id": "NzAw", "prompt_file_id": "NzAw"}`,
	`{"recall_time": -1}`, `{"recall_time": 1e10}`, `{"recall_to": "RING_GROUP_ONLY", "ring_group_id": "front"}`, `{"enabled": "yes"}`,
}

func checkRefusal(t *testing.T, body []byte, err error) {
	t.Helper()
	var pe *parkd.Error
	if !errors.As(err, &pe) || pe.Code != parkd.CodeInvalidField || pe.Message == "" {
		t.Fatalf("%q: error %#v is not an invalid_field *parkd.Error", body, err)
	}
}

func FuzzDecodeValet(f *testing.F) {
	for _, s := range append(compatSeeds, bodySeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := decodeValet(b); err != nil {
			checkRefusal(t, b, err)
		}
	})
}

func FuzzDecodeUAPI(f *testing.F) {
	for _, s := range append(compatSeeds, bodySeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeUAPI(b)
		if err != nil {
			checkRefusal(t, b, err)
			return
		}
		v.MaxInParking.seconds()
	})
}

func FuzzCallPark(f *testing.F) {
	for _, s := range append(compatSeeds, bodySeeds...) {
		f.Add([]byte(s))
	}
	s := &server{ringGroups: map[string][]string{"front": {"sip:201@127.0.0.1"}}}
	lot := parkd.LotView{Name: "main", Extension: "700"}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeCallPark(b)
		if err != nil {
			checkRefusal(t, b, err)
			return
		}
		p, err := s.callParkPolicy(v, lot)
		if err != nil {
			checkRefusal(t, b, err)
			return
		}
		if p.RecallAfter != nil && (p.RecallAfter.D().Seconds() < callParkMinTime || p.RecallAfter.D().Seconds() > callParkMaxTime) {
			t.Fatalf("%q: recall_after %s got through", b, p.RecallAfter)
		}
	})
}
