package parkd

import (
	"fmt"
	"testing"

	"github.com/parkd/parkd/sipcore/presence"
)

// BenchmarkBLFRenderLot1000: one slot of a 1,000-slot lot with 500 parked
// calls changes (a park, then its hang-up), and the slot's and the whole
// lot's bodies are rendered, as when someone watches the lot.
//
//	go test -run x -bench BLFRenderLot -benchmem ./parkd/
func BenchmarkBLFRenderLot1000(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Lots[0].Slots = "1000-1999"
	bl := newBLF(testLots(b, &cfg), nil, configPolicy(&cfg))
	bl.start("10.0.0.5", func(string, string, presence.Body) {})
	for i := 0; i < 1000; i += 2 {
		slot := fmt.Sprint(1000 + i)
		bl.onEvent(Event{Kind: EventParked, Slot: slot, Call: &CallView{ID: slot, CallID: slot + "@pbx", LocalTag: "p" + slot,
			RemoteTag: "r", Caller: Party{Display: "Caller " + slot, URI: "sip:" + slot + "@pbx"}}})
	}
	renderSettle(bl)
	call := &CallView{ID: "c1", CallID: "c1@pbx", LocalTag: "ptag", RemoteTag: "ctag", Caller: Party{Display: "Alice", URI: "sip:alice@pbx"}}
	b.ReportAllocs()
	for b.Loop() {
		bl.onEvent(Event{Kind: EventParked, Slot: "1001", Call: call})
		renderSettle(bl)
		bl.onEvent(Event{Kind: EventAbandoned, Slot: "1001"})
		renderSettle(bl)
	}
}

func renderSettle(bl *blf) { bl.renders.wait() }
