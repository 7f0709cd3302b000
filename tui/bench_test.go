package tui

import (
	"fmt"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
)

// BenchmarkViewBusy renders the whole screen with 1,000 occupied slots
// at 160×48, the selection deep in the lot; the target is under 16 ms
// (one frame at 60 Hz).
//
//	go test -run x -bench ViewBusy -benchmem ./tui/
func BenchmarkViewBusy(b *testing.B) {
	for _, size := range [][2]int{{160, 48}, {80, 24}} {
		b.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(b *testing.B) {
			m := newTestModel(b, bigFake(1000), size[0], size[1])
			send(m, keyMsg("pgdown"), keyMsg("pgdown"))
			send(m, detailDueMsg{m.detailKey()})
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkApplyBatch applies one coalesced batch of 256 events (the
// most the feed sends at once when it keeps up) to 1,000 slots.
func BenchmarkApplyBatch(b *testing.B) {
	m := newTestModel(b, bigFake(1000), 160, 48)
	batch := make(eventsMsg, 256)
	for i := range batch {
		slot := fmt.Sprint(1000 + (i*37)%1000)
		c := call(i, slot, time.Minute, 30*time.Second)
		c.Lot = "big"
		batch[i] = parkd.Event{Seq: uint64(5000 + i), Time: t0, Kind: parkd.EventParked, Lot: "big", Slot: slot, Call: c}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.Update(batch)
	}
}
