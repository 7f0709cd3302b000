package tui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/parkd/parkd/parkd/clienttest"
	"github.com/parkd/parkd/sipcore/siptest"
)

// BenchmarkEventToScreen measures, end to end, from the moment a phone
// has the 200 of its park INVITE to the moment the console's output
// (the bytes the terminal would get) shows the caller: the daemon's
// event, the API's SSE stream (or the in-process channel), the feed's
// coalescing and a rendered frame.
func BenchmarkEventToScreen(b *testing.B) {
	for _, impl := range clienttest.Clients {
		b.Run(impl.Name, func(b *testing.B) {
			d := clienttest.Start(b, nil)
			m := newModel(impl.Of(d), Options{Addr: d.URL})
			b.Cleanup(m.feed.stop)
			tm := teatest.NewTestModel(b, m, teatest.WithInitialTermSize(160, 48))
			var out []byte
			waitFor := func(text string) {
				deadline := time.Now().Add(5 * time.Second)
				for !bytes.Contains(out, []byte(text)) {
					chunk, _ := io.ReadAll(tm.Output())
					out = append(out, chunk...)
					if time.Now().After(deadline) {
						b.Fatalf("the screen never showed %q", text)
					}
					if len(chunk) == 0 {
						time.Sleep(200 * time.Microsecond)
					}
				}
			}
			waitFor("live")
			var lat []time.Duration
			for i := 0; i < b.N; i++ {
				name := fmt.Sprintf("Caller%04d", i)
				p := siptest.NewPhone(b, "c", siptest.WithDisplay(name))
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				call, err := p.Dial(ctx, d.URI("700", p), siptest.CallOptions{})
				if err != nil || call.Status() != 200 {
					b.Fatalf("park: %v", err)
				}
				out = out[:0]
				answered := time.Now()
				waitFor(name)
				lat = append(lat, time.Since(answered))
				call.Hangup(ctx)
				cancel()
				// A receptionist's events are sparse: let the hang-up's
				// batch pass so the next park is a lone event again.
				waitFor("abandoned")
				time.Sleep(100 * time.Millisecond)
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
