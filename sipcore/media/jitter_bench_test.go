package media

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkMOHJitter runs the real MOH ticker for 3 s with n listeners and
// measures packet pacing on a sample of 50 of them, which send to a probe
// socket: the p99 of |inter-arrival − 20 ms| per stream. The other
// listeners send to sinks nobody reads, so the probe costs little.
// Run with -benchtime 1x; the measurement window is fixed.
func BenchmarkMOHJitter(b *testing.B) {
	for _, n := range []int{100, 5000} {
		b.Run(fmt.Sprintf("listeners=%d", n), func(b *testing.B) {
			var rl syscall.Rlimit
			if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < uint64(2*n+1000) {
				b.Skipf("needs %d open files (ulimit -n), have %d", 2*n+1000, rl.Cur)
			}
			src := newMOHRig(b, n)
			probe := newPhone(b)
			const sampled = 50
			all := src.allListeners()
			for i := range sampled { // spread over the phases
				all[i*len(all)/sampled].s.SetRemote(probe.addr(), Format{Codec: PCMU})
			}
			arrivals := map[uint32][]time.Time{}
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, 1500)
				for {
					probe.conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
					n, err := probe.conn.Read(buf)
					if err != nil {
						return
					}
					if n >= 12 {
						ssrc := binary.BigEndian.Uint32(buf[8:12])
						arrivals[ssrc] = append(arrivals[ssrc], time.Now())
					}
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			for b.Loop() {
				src.Run(ctx)
			}
			<-done
			var dev []time.Duration
			for _, ts := range arrivals {
				for i := 2; i < len(ts); i++ { // the first gap includes the join
					d := ts[i].Sub(ts[i-1]) - 20*time.Millisecond
					dev = append(dev, max(d, -d))
				}
			}
			if len(dev) == 0 {
				b.Fatal("the probe received nothing")
			}
			slices.Sort(dev)
			b.ReportMetric(float64(dev[len(dev)*99/100].Microseconds())/1000, "p99-jitter-ms")
			b.ReportMetric(float64(dev[len(dev)/2].Microseconds())/1000, "p50-jitter-ms")
			b.ReportMetric(float64(len(arrivals)), "streams")
		})
	}
}
