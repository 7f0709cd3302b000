package gopool

import (
	"sync"
	"testing"
	"time"
)

const maxIdle = 8

// waitFor waits until n goroutines wait for work.
func waitFor(t *testing.T, p *Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for p.Waiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines waiting, want %d", p.Waiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitUntil waits until cond holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 2 s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// run is Go and a wait for f to return.
func run(p *Pool, f func()) {
	done := make(chan struct{})
	p.Go(func() { f(); close(done) })
	<-done
}

func TestPool(t *testing.T) {
	cases := []struct {
		name string
		// idleFor is a minute unless the case is about it: a loaded
		// machine (CI's race run beside other packages) can hold the
		// test's goroutine off longer than a short one, and the kept
		// goroutines would be gone before it looked.
		idleFor time.Duration
		test    func(t *testing.T, p *Pool)
	}{
		{"one after another reuse a goroutine", time.Minute, func(t *testing.T, p *Pool) {
			for range 5 {
				run(p, func() {})
				waitUntil(t, "a goroutine waiting", func() bool { return p.Waiting() >= 1 })
				// A goroutine counts itself waiting just before its
				// select, and a function given in between gets a
				// goroutine of its own. The test's goroutine, woken on
				// another CPU the moment the count went up, landed in
				// that gap all five times in one CI race run; the pause
				// lets the waiting goroutine reach its select.
				time.Sleep(5 * time.Millisecond)
			}
			// A new goroutine for each would leave five waiting.
			time.Sleep(20 * time.Millisecond)
			if n := p.Waiting(); n >= 5 {
				t.Fatalf("%d waiting after five functions one after another: one goroutine each", n)
			}
		}},
		{"a blocked function holds up no other", time.Minute, func(t *testing.T, p *Pool) {
			release, blocked := make(chan struct{}), make(chan struct{})
			p.Go(func() { close(blocked); <-release })
			<-blocked
			ran := make(chan struct{})
			p.Go(func() { close(ran) })
			select {
			case <-ran:
			case <-time.After(2 * time.Second):
				t.Fatal("the second function waited for the blocked one")
			}
			close(release)
		}},
		{"a burst leaves at most maxIdle waiting", time.Minute, func(t *testing.T, p *Pool) {
			var start, wg sync.WaitGroup
			start.Add(1)
			for range 4 * maxIdle {
				wg.Add(1)
				p.Go(func() { defer wg.Done(); start.Wait() })
			}
			start.Done()
			wg.Wait()
			waitFor(t, p, maxIdle)
		}},
		{"an idle goroutine ends after idleFor", time.Second, func(t *testing.T, p *Pool) {
			run(p, func() {})
			waitFor(t, p, 1)
			waitFor(t, p, 0)
		}},
		{"Close ends the waiting; Go still runs", time.Minute, func(t *testing.T, p *Pool) {
			run(p, func() {})
			waitFor(t, p, 1)
			p.Close()
			waitFor(t, p, 0)
			ran := false
			run(p, func() { ran = true })
			if !ran {
				t.Fatal("a function after Close did not run")
			}
			waitFor(t, p, 0)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := New(maxIdle, tc.idleFor)
			t.Cleanup(p.Close)
			tc.test(t, p)
		})
	}
}

// deep uses about as much stack as a park does.
//
//go:noinline
func deep(depth int) byte {
	var frame [512]byte
	frame[depth%len(frame)] = byte(depth)
	if depth == 0 {
		return frame[0]
	}
	return deep(depth-1) + frame[depth%len(frame)]
}

// BenchmarkDeepWork compares work ~8 KiB deep on a new goroutine each
// time with the pool.
func BenchmarkDeepWork(b *testing.B) {
	work := func() { deep(14) }
	b.Run("new-goroutine", func(b *testing.B) {
		for b.Loop() {
			done := make(chan struct{})
			go func() { work(); close(done) }()
			<-done
		}
	})
	b.Run("pool", func(b *testing.B) {
		p := New(maxIdle, time.Minute)
		defer p.Close()
		for b.Loop() {
			run(p, work)
		}
	})
}
