package store

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
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
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				w.Add(benchRow(i))
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
// transaction of batch rows per call. "cancellable" gives it a context
// that can end, as the HistoryWriter does.
func BenchmarkAppendHistory(b *testing.B) {
	for _, batch := range []int{1, 100, 400} {
		for _, cancellable := range []bool{false, true} {
			name := fmt.Sprintf("batch=%d", batch)
			if cancellable {
				name += "/cancellable"
			}
			b.Run(name, func(b *testing.B) { benchAppendHistory(b, batch, cancellable) })
		}
	}
}

func benchAppendHistory(b *testing.B, batch int, cancellable bool) {
	ctx := context.Background()
	if cancellable {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
	}
	s := openTest(b)
	rows := make([]HistoryRow, batch)
	n := 0
	for b.Loop() {
		for i := range rows {
			rows[i] = benchRow(n)
			n++
		}
		if err := s.AppendHistory(ctx, rows...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
}

// benchRow is the i-th row a busy daemon would write: each call has its
// own Call-ID, as real ones do. Rows that all carried the same one put
// every insert into the same page of the call-id index and measured a
// third of what a row costs (eleventh pass in docs/PERFORMANCE.md).
func benchRow(i int) HistoryRow {
	return HistoryRow{
		Time: histBase.Add(time.Duration(i) * time.Millisecond), Lot: "main", Slot: strconv.Itoa(701 + i%20),
		CallID: strconv.Itoa(i*7919%1000003) + "a84b4c76e66710@pc33.atlanta.example.com", Caller: `"Alice" <sip:2001@pbx>`,
		Parker: "sip:1001@pbx", Outcome: "retrieved", Parked: 42 * time.Second,
	}
}
