package api

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/parkd/parkd/parkd"
)

// BenchmarkSlots1000 is GET /api/v1/slots with 1,000 occupied slots through
// the whole handler (token, routing, metrics, JSON) over the fake, so it
// measures this layer's share of the budget.
func BenchmarkSlots1000(b *testing.B) {
	s, f, _ := newTestServer(b)
	c := *f.calls["c1"]
	for i := range 1000 {
		n := fmt.Sprint(1000 + i)
		call := c
		call.ID, call.Slot = "c"+n, n
		f.slots[n] = &parkd.SlotView{Lot: "main", Slot: n, State: parkd.SlotParked, Call: &call}
	}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/api/v1/slots", nil)
		r.Header.Set("Authorization", "Bearer "+testToken)
		s.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
