// Package gopool runs functions on goroutines kept for the next one.
//
// A new goroutine starts with a 2 KiB stack, and one that goes deeper
// grows it by copying, once per doubling, walking every frame each time.
// Work that goes several KiB deep, once per request or call, spends more
// on that than on itself. A kept goroutine's stack has already grown; the
// GC halves an idle one's now and then, and the next deep call grows it
// back once.
package gopool

import (
	"sync"
	"sync/atomic"
	"time"
)

// Pool runs functions on reused goroutines. Go never waits for a free
// one: with none waiting, it starts another, so a function that blocks
// holds up nothing else.
type Pool struct {
	work    chan func() // unbuffered: a send succeeds only to a waiting goroutine
	waiting atomic.Int32
	maxIdle int32
	idleFor time.Duration
	closed  chan struct{}
	once    sync.Once
}

// New returns a pool that keeps at most maxIdle goroutines waiting, each
// for at most idleFor.
func New(maxIdle int, idleFor time.Duration) *Pool {
	return &Pool{work: make(chan func()), maxIdle: int32(maxIdle), idleFor: idleFor, closed: make(chan struct{})}
}

// Go runs f on a waiting goroutine, or on a new one.
func (p *Pool) Go(f func()) {
	select {
	case p.work <- f:
	default:
		go p.run(f)
	}
}

// Waiting is the number of goroutines waiting for work.
func (p *Pool) Waiting() int { return int(p.waiting.Load()) }

// Close ends the waiting goroutines. Go still works afterwards, each
// function on a goroutine of its own.
func (p *Pool) Close() { p.once.Do(func() { close(p.closed) }) }

func (p *Pool) run(f func()) {
	var idle *time.Timer
	for {
		f()
		// The timer is armed before the goroutine counts itself waiting,
		// so that between the count and the select there is next to
		// nothing: a function handed over in that gap gets a goroutine
		// of its own.
		if idle == nil {
			idle = time.NewTimer(p.idleFor)
		} else {
			idle.Reset(p.idleFor)
		}
		if p.waiting.Add(1) > p.maxIdle {
			p.waiting.Add(-1)
			idle.Stop()
			return
		}
		select {
		case f = <-p.work:
			p.waiting.Add(-1)
		case <-idle.C:
			p.waiting.Add(-1)
			return
		case <-p.closed:
			p.waiting.Add(-1)
			idle.Stop()
			return
		}
	}
}
