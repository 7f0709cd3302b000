package api

import (
	"encoding/json"
	"testing"

	"github.com/parkd/parkd/parkd"
)

// The cached answer is always what encoding the views afresh gives: a
// new version or state re-encodes the slot, nothing else is reused stale.
func TestSlotJSONFollowsChanges(t *testing.T) {
	var c slotJSON
	alice := &parkd.CallView{ID: "c1", Caller: parkd.Party{Display: "Alice"}}
	steps := [][]parkd.SlotView{
		{{Lot: "main", Slot: "701", State: parkd.SlotFree, Version: 0}},
		{{Lot: "main", Slot: "701", State: parkd.SlotParked, Version: 1, Call: alice}},
		{{Lot: "main", Slot: "701", State: parkd.SlotRetrieving, Version: 1, Call: alice}}, // state moved, version did not
		{{Lot: "main", Slot: "701", State: parkd.SlotFree, Version: 2}, {Lot: "b", Slot: "701", State: parkd.SlotFree}},
		{},
	}
	for i, views := range steps {
		got, err := c.encode(views)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(struct {
			Slots []parkd.SlotView `json:"slots"`
		}{append([]parkd.SlotView{}, views...)})
		if got.String() != string(want) {
			t.Errorf("step %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
