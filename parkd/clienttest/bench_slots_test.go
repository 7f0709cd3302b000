package clienttest_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/apiclient"
	"github.com/parkd/parkd/parkd/clienttest"
)

// BenchmarkAPISlots1000: GET /api/v1/slots with all 1,000 slots of a lot
// occupied by real parked calls, one request at a time over a kept-alive
// connection. "http" reads the whole body; "apiclient" is apiclient.Slots,
// which also decodes it. Under "moh" parkd plays music on hold to every
// call (50,000 packets a second); under "silent" the calls offered
// a=inactive, so the figure shows the API alone.
func BenchmarkAPISlots1000(b *testing.B) {
	for _, media := range []string{"moh", "silent"} {
		b.Run(media, func(b *testing.B) {
			sip := newSIPClient(b, 4)
			if media == "silent" {
				sip.direction = "inactive"
			}
			d := startBench(b, sip, oneLot)
			sip.parkMany(b, "700", 1000)
			lots, err := d.Server.Lots(context.Background())
			if err != nil || lots[0].Used != 1000 {
				b.Fatalf("lots %+v, %v: want 1,000 slots used", lots, err)
			}
			b.Run("http", func(b *testing.B) { benchSlotsHTTP(b, d) })
			if media == "moh" {
				b.Run("apiclient", func(b *testing.B) { benchSlotsClient(b, d) })
			}
		})
	}
}

func benchSlotsHTTP(b *testing.B, d *clienttest.Daemon) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest("GET", d.URL+"/api/v1/slots", nil)
	req.Header.Set("Authorization", "Bearer "+d.Token)
	lat := make([]time.Duration, 0, b.N)
	var size int64
	b.ResetTimer()
	cpu := startCPU()
	for range b.N {
		t0 := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("GET /slots: %d %v", resp.StatusCode, err)
		}
		size = n
	}
	b.StopTimer()
	cpu.report(b)
	reportMs(b, "", lat)
	b.ReportMetric(quantile(lat, 0.9), "p90-ms")
	b.ReportMetric(float64(size)/1024, "KiB/resp")
}

func benchSlotsClient(b *testing.B, d *clienttest.Daemon) {
	c, err := apiclient.New(d.URL, d.Token)
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	cpu := startCPU()
	for range b.N {
		t0 := time.Now()
		slots, err := c.Slots(context.Background(), parkd.SlotFilter{})
		lat = append(lat, time.Since(t0))
		if err != nil || len(slots) != 1000 || slots[999].Call == nil {
			b.Fatalf("Slots: %d slots, %v", len(slots), err)
		}
	}
	b.StopTimer()
	cpu.report(b)
	reportMs(b, "", lat)
}

// ----------------------------------------- 2. one event to 100 SSE clients
