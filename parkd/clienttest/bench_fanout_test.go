package clienttest_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/apiclient"
	"github.com/parkd/parkd/parkd/clienttest"
)

// BenchmarkAPIEventFanout: 100 clients on GET /api/v1/events; each
// iteration parks a call over SIP and then hangs it up. "park" is the time
// from the SIP client reading the 200 to the INVITE until the last of the
// 100 clients has the call's parked event (p50/p99 over iterations);
// "park-each" counts every client's delivery separately; "bye" is the same
// for the abandoned event after the 200 to the caller's BYE. "apiclient"
// reads with apiclient.Subscribe (SSE parsed, JSON decoded); "raw" reads
// the stream's lines and only picks the kind and call_id out of them, so
// less of the two cores goes to the clients.
func BenchmarkAPIEventFanout(b *testing.B) {
	for _, mode := range []string{"apiclient", "raw"} {
		b.Run(mode+"/clients=100", func(b *testing.B) { benchFanout(b, mode, 100) })
	}
}

func benchFanout(b *testing.B, mode string, clients int) {
	sip := newSIPClient(b, 2)
	d := startBench(b, sip, oneLot)
	f := &fanout{got: make([]time.Time, clients)}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	var ready sync.WaitGroup
	for i := range clients {
		ready.Add(1)
		switch mode {
		case "apiclient":
			c, err := apiclient.New(d.URL, d.Token)
			if err != nil {
				b.Fatal(err)
			}
			ch, err := c.Subscribe(ctx, 0)
			if err != nil {
				b.Fatal(err)
			}
			go func() {
				ready.Done()
				for ev := range ch {
					if ev.Call != nil {
						f.saw(i, string(ev.Kind), ev.Call.CallID, time.Now())
					}
				}
			}()
		case "raw":
			body := openSSE(b, ctx, d)
			go func() {
				ready.Done()
				readRawSSE(body, func(kind, callID string) { f.saw(i, kind, callID, time.Now()) })
			}()
		}
	}
	ready.Wait()
	time.Sleep(200 * time.Millisecond) // every stream is past its first flush

	var park, parkEach, bye []time.Duration
	b.ResetTimer()
	cpu := startCPU()
	for range b.N {
		call := sip.prepare("700")
		f.arm(call.id, string(parkd.EventParked))
		sip.send(call)
		if !call.waitAnswered(5*time.Second) || call.status != 200 {
			b.Fatalf("park INVITE: status %d", call.status)
		}
		last, each := f.wait(b, call.t200)
		park, parkEach = append(park, last), append(parkEach, each...)

		f.arm(call.id, string(parkd.EventAbandoned))
		sip.bye(call)
		if !call.waitEnded(5 * time.Second) {
			b.Fatal("BYE not answered")
		}
		last, _ = f.wait(b, call.byeOK)
		bye = append(bye, last)
	}
	b.StopTimer()
	cpu.report(b)
	reportMs(b, "park-", park)
	reportMs(b, "park-each-", parkEach)
	reportMs(b, "bye-", bye)
}

// fanout collects the arrival of one expected event at every client.
type fanout struct {
	mu     sync.Mutex
	callID string
	kind   string
	got    []time.Time
	n      int
	done   chan struct{}
}

func (f *fanout) arm(callID, kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.callID, f.kind, f.n, f.done = callID, kind, 0, make(chan struct{})
	clear(f.got)
}

func (f *fanout) saw(i int, kind, callID string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done == nil || kind != f.kind || callID != f.callID || !f.got[i].IsZero() {
		return
	}
	f.got[i] = now
	if f.n++; f.n == len(f.got) {
		close(f.done)
	}
}

// wait returns the last arrival and every arrival, after from.
func (f *fanout) wait(b *testing.B, from time.Time) (time.Duration, []time.Duration) {
	f.mu.Lock()
	done := f.done
	f.mu.Unlock()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		f.mu.Lock()
		defer f.mu.Unlock()
		b.Fatalf("%s of %s reached %d of %d clients within 5 s", f.kind, f.callID, f.n, len(f.got))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	each := make([]time.Duration, len(f.got))
	var last time.Duration
	for i, t := range f.got {
		each[i] = t.Sub(from)
		last = max(last, each[i])
	}
	return last, each
}

func openSSE(b *testing.B, ctx context.Context, d *clienttest.Daemon) io.ReadCloser {
	req, _ := http.NewRequestWithContext(ctx, "GET", d.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+d.Token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b.Fatalf("GET /events: %d", resp.StatusCode)
	}
	b.Cleanup(func() { resp.Body.Close() })
	return resp.Body
}

// readRawSSE calls seen with the kind and call_id of every data line.
func readRawSSE(r io.Reader, seen func(kind, callID string)) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			seen(jsonField(data, `"kind":"`), jsonField(data, `"call_id":"`))
		}
	}
}

func jsonField(data []byte, key string) string {
	_, rest, ok := bytes.Cut(data, []byte(key))
	if !ok {
		return ""
	}
	v, _, _ := bytes.Cut(rest, []byte(`"`))
	return string(v)
}

// ----------------------------- 3. API actions while SIP parks at 200 calls/s
