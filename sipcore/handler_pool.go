package sipcore

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Request handlers run on goroutines that outlive one request. sipgo
// starts a goroutine for every request, with Go's initial 2 KiB stack,
// and a park or a retrieve goes about 8 KiB deep: each INVITE grew its
// goroutine's stack three times (2, 4, 8, 16 KiB), and every growth
// copies the stack and walks all its frames. That was 4.7 % of a
// park+retrieve pair's CPU. A handler on a goroutine whose stack grew for
// an earlier request skips it, until the GC shrinks an idle worker's
// stack back. sipgo's goroutine waits for the handler, as before, since
// it ends the transaction once the handler returns.

// maxIdleHandlers bounds the workers kept waiting for a request: enough
// for the requests in progress at a busy moment, while a burst's workers
// beyond it end at once instead of holding their stacks.
const maxIdleHandlers = 64

// handlerIdle is how long a waiting worker stays without a request.
const handlerIdle = 10 * time.Second

// handlerPool runs request handlers on reused goroutines.
type handlerPool struct {
	jobs   chan *handlerJob // unbuffered: a send succeeds only to a waiting worker
	idle   atomic.Int32     // workers waiting on jobs
	closed chan struct{}
	once   sync.Once
}

type handlerJob struct {
	handle func(*sip.Request, sip.ServerTransaction)
	req    *sip.Request
	tx     sip.ServerTransaction
	done   chan struct{}
}

var handlerJobs = sync.Pool{New: func() any { return &handlerJob{done: make(chan struct{}, 1)} }}

func newHandlerPool() *handlerPool {
	return &handlerPool{jobs: make(chan *handlerJob), closed: make(chan struct{})}
}

// wrap returns h run on the pool, for sipgo's OnRequest.
func (p *handlerPool) wrap(h func(*sip.Request, sip.ServerTransaction)) func(*sip.Request, sip.ServerTransaction) {
	return func(req *sip.Request, tx sip.ServerTransaction) { p.run(h, req, tx) }
}

// run calls h on a waiting worker, or on a new one when none waits, and
// returns once h has.
func (p *handlerPool) run(h func(*sip.Request, sip.ServerTransaction), req *sip.Request, tx sip.ServerTransaction) {
	j := handlerJobs.Get().(*handlerJob)
	j.handle, j.req, j.tx = h, req, tx
	select {
	case p.jobs <- j:
	default:
		go p.work(j)
	}
	<-j.done
	j.handle, j.req, j.tx = nil, nil, nil
	handlerJobs.Put(j)
}

// work runs j, then the jobs handed to it while it waits, until it has
// waited handlerIdle, the pool closes, or enough others wait already.
func (p *handlerPool) work(j *handlerJob) {
	var idle *time.Timer
	for {
		p.runJob(j)
		if p.idle.Add(1) > maxIdleHandlers {
			p.idle.Add(-1)
			return
		}
		if idle == nil {
			idle = time.NewTimer(handlerIdle)
		} else {
			idle.Reset(handlerIdle)
		}
		select {
		case j = <-p.jobs:
			p.idle.Add(-1)
		case <-idle.C:
			p.idle.Add(-1)
			return
		case <-p.closed:
			p.idle.Add(-1)
			idle.Stop()
			return
		}
	}
}

// runJob signals done even when the handler panics: the panic still
// takes the daemon down, as it did on sipgo's goroutine, but the waiting
// goroutine is not what hides it.
func (p *handlerPool) runJob(j *handlerJob) {
	defer func() { j.done <- struct{}{} }()
	j.handle(j.req, j.tx)
}

// close ends the waiting workers; a request arriving later still runs,
// on a goroutine of its own.
func (p *handlerPool) close() { p.once.Do(func() { close(p.closed) }) }
