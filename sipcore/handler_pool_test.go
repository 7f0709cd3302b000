package sipcore

import (
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// waitIdle waits until n workers wait for a request.
func waitIdle(t *testing.T, p *handlerPool, n int32) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for p.idle.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers waiting, want %d", p.idle.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestHandlerPool(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, p *handlerPool)
	}{
		{"run returns once the handler has", func(t *testing.T, p *handlerPool) {
			done := false
			p.run(func(*sip.Request, sip.ServerTransaction) { time.Sleep(10 * time.Millisecond); done = true }, nil, nil)
			if !done {
				t.Fatal("run returned before the handler did")
			}
		}},
		{"a request after another reuses its worker", func(t *testing.T, p *handlerPool) {
			for range 5 {
				p.run(func(*sip.Request, sip.ServerTransaction) {}, nil, nil)
				waitIdle(t, p, 1)
			}
			// A new worker for each would leave five waiting.
			time.Sleep(20 * time.Millisecond)
			if n := p.idle.Load(); n != 1 {
				t.Fatalf("%d workers waiting after five requests one after another, want 1", n)
			}
		}},
		{"a blocked handler holds up no other request", func(t *testing.T, p *handlerPool) {
			release := make(chan struct{})
			blocked := make(chan struct{})
			go p.run(func(*sip.Request, sip.ServerTransaction) { close(blocked); <-release }, nil, nil)
			<-blocked
			ran := make(chan struct{})
			go p.run(func(*sip.Request, sip.ServerTransaction) { close(ran) }, nil, nil)
			select {
			case <-ran:
			case <-time.After(2 * time.Second):
				t.Fatal("a second request waited for the blocked one")
			}
			close(release)
		}},
		{"a burst leaves at most maxIdleHandlers waiting", func(t *testing.T, p *handlerPool) {
			var start, wg sync.WaitGroup
			start.Add(1)
			for range 4 * maxIdleHandlers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p.run(func(*sip.Request, sip.ServerTransaction) { start.Wait() }, nil, nil)
				}()
			}
			time.Sleep(50 * time.Millisecond)
			start.Done()
			wg.Wait()
			waitIdle(t, p, maxIdleHandlers)
		}},
		{"close ends the waiting workers; later requests still run", func(t *testing.T, p *handlerPool) {
			p.run(func(*sip.Request, sip.ServerTransaction) {}, nil, nil)
			waitIdle(t, p, 1)
			p.close()
			waitIdle(t, p, 0)
			ran := false
			p.run(func(*sip.Request, sip.ServerTransaction) { ran = true }, nil, nil)
			if !ran {
				t.Fatal("a request after close did not run")
			}
			waitIdle(t, p, 0)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newHandlerPool()
			t.Cleanup(p.close)
			tc.run(t, p)
		})
	}
}

// deepHandler uses about as much stack as a park does.
//
//go:noinline
func deepHandler(depth int) byte {
	var frame [512]byte
	frame[depth%len(frame)] = byte(depth)
	if depth == 0 {
		return frame[0]
	}
	return deepHandler(depth-1) + frame[depth%len(frame)]
}

// BenchmarkRequestGoroutine compares a handler ~8 KiB deep on a new
// goroutine per request, as sipgo runs it, with the pool.
func BenchmarkRequestGoroutine(b *testing.B) {
	h := func(*sip.Request, sip.ServerTransaction) { deepHandler(14) }
	b.Run("goroutine-per-request", func(b *testing.B) {
		for b.Loop() {
			done := make(chan struct{})
			go func() { h(nil, nil); close(done) }()
			<-done
		}
	})
	b.Run("pool", func(b *testing.B) {
		p := newHandlerPool()
		defer p.close()
		for b.Loop() {
			done := make(chan struct{})
			go func() { p.run(h, nil, nil); close(done) }()
			<-done
		}
	})
}
