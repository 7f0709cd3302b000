package store

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkHistoryWriter measures rows/s from Add to disk. It flushes
// every flushEvery rows, as a producer that must not drop would, so the
// figure includes commits and fsyncs rather than just queueing.
func BenchmarkHistoryWriter(b *testing.B) {
	for _, flushEvery := range []int{64, 4096} {
		b.Run(fmt.Sprintf("flush=%d", flushEvery), func(b *testing.B) {
			ctx := context.Background()
			s := openTest(b)
			w := s.NewHistoryWriter(slog.New(slog.DiscardHandler))
			row := HistoryRow{
				Time: histBase, Lot: "main", Slot: "701",
				CallID: "a84b4c76e66710@pc33.atlanta.example.com", Caller: `"Alice" <sip:2001@pbx>`,
				Parker: "sip:1001@pbx", Outcome: "retrieved", Parked: 42 * time.Second,
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				w.Add(row)
				if i%flushEvery == flushEvery-1 {
					if err := w.Flush(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := w.Close(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			if d := w.Dropped(); d != 0 {
				b.ReportMetric(float64(d), "dropped")
			}
		})
	}
}

// BenchmarkAppendHistory is the direct path, for comparison: one
// transaction of batch rows per call.
func BenchmarkAppendHistory(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			s := openTest(b)
			rows := make([]HistoryRow, batch)
			for i := range rows {
				rows[i] = HistoryRow{Time: histBase, Lot: "main", Slot: "701", CallID: "c", Outcome: "parked"}
			}
			for b.Loop() {
				if err := s.AppendHistory(ctx, rows...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
