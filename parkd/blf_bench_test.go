package parkd

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parkd/parkd/internal/rawsip"
	"github.com/parkd/parkd/sipcore/siptest"
)

// The BLF benchmarks subscribe with a stateless raw-UDP client (no SIP
// stack, no per-subscription memory of its own), so that the daemon's heap
// is what the memory figure measures and the client costs little CPU.
//
//	go test -run x -bench BLF -benchtime 100x ./parkd/

// BenchmarkBLFFanout1000: 1,000 subscriptions on slot 701, a call parked
// and hung up per iteration; reports the time from the slot change to the
// last NOTIFY written to the socket (p50/p99 over both changes) and to the
// last NOTIFY received by the subscribers.
func BenchmarkBLFFanout1000(b *testing.B) { benchFanout(b, 1000, []string{"701"}, false) }

// BenchmarkBLFFanout1000StateOnly: the same in a lot with retrieve_allow,
// where the (unauthenticated) subscribers get the state-only variant and
// every change renders both variants.
func BenchmarkBLFFanout1000StateOnly(b *testing.B) { benchFanout(b, 1000, []string{"701"}, true) }

// BenchmarkBLFFanout20000: the same change of slot 701 while 20,000
// subscriptions are spread over slots 701–720 (1,000 each).
func BenchmarkBLFFanout20000(b *testing.B) {
	var slots []string
	for i := 701; i <= 720; i++ {
		slots = append(slots, fmt.Sprint(i))
	}
	benchFanout(b, 20000, slots, false)
}

// BenchmarkBLFFanout1000OneSocket: 1,000 subscriptions behind ONE UDP
// socket with the kernel's default receive buffer (a SIP proxy, or one
// sipp holding them all), whose reader answers each NOTIFY at once. A
// burst overruns that buffer; what it drops comes back by Timer E 500 ms
// later, which shows as retransmits (the same NOTIFY received twice) and
// a recv p99 past 500 ms. notifies/change must be 1,000.
func BenchmarkBLFFanout1000OneSocket(b *testing.B) {
	benchFanoutOn(b, 1000, []string{"701"}, false, 1, 0)
}

// BenchmarkBLFFanout1000Sockets: 1,000 watchers, each on its own socket
// (default buffers): nothing to pace, so this is the fan-out at full speed.
func BenchmarkBLFFanout1000Sockets(b *testing.B) {
	benchFanoutOn(b, 1000, []string{"701"}, false, 1000, 0)
}

func benchFanout(b *testing.B, subs int, slots []string, restricted bool) {
	benchFanoutOn(b, subs, slots, restricted, 4, 8<<20)
}

// benchFanoutOn runs the fan-out benchmark with the subscriptions spread
// over sockets UDP sockets with readBuffer bytes of receive buffer each
// (0: the kernel's default).
func benchFanoutOn(b *testing.B, subs int, slots []string, restricted bool, sockets, readBuffer int) {
	resource := "701"
	var edits []func(*Config)
	if restricted {
		resource += stateOnly
		edits = append(edits, func(c *Config) { c.Lots[0].RetrieveAllow = []string{"alice"} })
	}
	d := startBenchDaemon(b, edits...)
	c := newRawSubscriber(b, d.udp, sockets, readBuffer)
	c.subscribeAll(b, subs, slots)
	perSlot := subs / len(slots)

	var mu sync.Mutex
	var sent []time.Duration
	watched := resource
	observer := fanoutFunc(func(resource string, notified int, took time.Duration) {
		if resource == watched && notified == perSlot {
			mu.Lock()
			sent = append(sent, took)
			mu.Unlock()
		}
	})
	d.srv.fanoutObserver.Store(&observer)

	alice := siptest.NewPhone(b, "alice")
	var received []time.Duration
	b.ResetTimer()
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c.expect(perSlot, true)
		start := time.Now()
		call, err := alice.Dial(ctx, "sip:700@"+d.udp, siptest.CallOptions{})
		if err != nil || call.Status() != 200 {
			b.Fatalf("park: %v %d", err, call.Status())
		}
		received = append(received, c.wait(b, start))
		c.expect(perSlot, false)
		start = time.Now()
		if _, err := call.Hangup(ctx); err != nil {
			b.Fatal(err)
		}
		received = append(received, c.wait(b, start))
		cancel()
	}
	b.StopTimer()
	time.Sleep(600 * time.Millisecond) // a NOTIFY resent by Timer E (500 ms) shows up now
	mu.Lock()
	defer mu.Unlock()
	reportQuantiles(b, "sent", sent)
	reportQuantiles(b, "recv", received)
	notifies, retransmits := c.Counts()
	b.ReportMetric(float64(notifies)/float64(2*b.N), "notifies/change")
	b.ReportMetric(float64(retransmits), "retransmits")
}

func reportQuantiles(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		b.Fatalf("no %s samples", name)
	}
	slices.Sort(ds)
	q := func(p float64) float64 { return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), name+"-p50-ms")
	b.ReportMetric(q(0.99), name+"-p99-ms")
}

// BenchmarkBLFMemory: heap and stacks per subscription with 20,000 live
// subscriptions, measured after sipgo's SUBSCRIBE transactions have ended
// (Timer J, 32 s), so only what a subscription keeps is counted.
func BenchmarkBLFMemory(b *testing.B) {
	const subs = 20000
	d := startBenchDaemon(b)
	c := newRawSubscriber(b, d.udp, 4, 8<<20)
	var slots []string
	for i := 701; i <= 720; i++ {
		slots = append(slots, fmt.Sprint(i))
	}
	before := liveBytes()
	c.subscribeAll(b, subs, slots)
	time.Sleep(34 * time.Second)
	after := liveBytes()
	if got := d.srv.endpoint.Subscriptions(); got != subs {
		b.Fatalf("%d subscriptions live, want %d", got, subs)
	}
	b.ReportMetric(float64(after-before)/subs, "bytes/sub")
	for range b.N {
	}
}

func liveBytes() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}

type benchDaemon struct {
	srv *Server
	udp string
}

func startBenchDaemon(b *testing.B, edits ...func(*Config)) *benchDaemon {
	cfg := DefaultConfig()
	cfg.SIP.Listen = []string{"udp://127.0.0.1:0"}
	cfg.RTP.Ports = "41000-41199"
	cfg.Data = b.TempDir()
	cfg.BLF.MaxPerSource = 100000
	cfg.BLF.MaxTotal = 100000
	// Every subscriber is 127.0.0.1: past sip.rate_limit its SUBSCRIBEs
	// would go unanswered and the benchmark would wait forever.
	cfg.SIP.RateLimit.PerSource = "0"
	// 20,000 SUBSCRIBEs within Timer J (32 s) are 20,000 live server
	// transactions, past sip.max_transactions' default of 10,000.
	cfg.SIP.MaxTransactions = 50000
	for _, edit := range edits {
		edit(&cfg)
	}
	srv, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	return &benchDaemon{srv: srv, udp: srv.SIPAddrs()[0].Addr}
}

// newRawSubscriber opens sockets watcher sockets for server's
// subscriptions, closed when the benchmark ends.
func newRawSubscriber(b *testing.B, server string, sockets, readBuffer int) *rawSubscriber {
	addr, err := netip.ParseAddrPort(server)
	if err != nil {
		b.Fatal(err)
	}
	w, err := rawsip.NewWatchers(addr, sockets, readBuffer)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Close)
	return &rawSubscriber{w}
}

// rawSubscriber is rawsip.Watchers failing the benchmark on an error.
type rawSubscriber struct{ *rawsip.Watchers }

func (c *rawSubscriber) subscribeAll(b *testing.B, n int, slots []string) {
	if err := c.Subscribe(n, slots, 60*time.Second); err != nil {
		b.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // let the initial NOTIFYs drain
}

func (c *rawSubscriber) expect(n int, occupied bool) { c.Expect(n, occupied) }

// wait returns how long after start the last expected NOTIFY arrived.
func (c *rawSubscriber) wait(b *testing.B, start time.Time) time.Duration {
	last, err := c.Wait(10 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	return last.Sub(start)
}
