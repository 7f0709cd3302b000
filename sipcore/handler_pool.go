package sipcore

import (
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/internal/gopool"
)

// Request handlers run on goroutines that outlive one request
// (internal/gopool). sipgo starts a goroutine for every request, and a
// park or a retrieve goes about 8 KiB deep: each INVITE grew its new
// goroutine's 2 KiB stack three times, 4.7 % of a park+retrieve pair's
// CPU. sipgo's goroutine waits for the handler, as before, since it ends
// the transaction once the handler returns. A new call's INVITE over UDP
// has no sipgo goroutine: the read filter runs it on the read loop, or
// past that path's bounds hands it to the pool itself (invite_tx_gate.go,
// inline_invite.go).

// maxIdleHandlers bounds the goroutines kept waiting for a request:
// enough for the requests in progress at a busy moment, while a burst's
// goroutines beyond it end at once instead of holding their stacks.
const maxIdleHandlers = 64

// handlerIdle is how long a waiting goroutine stays without a request.
const handlerIdle = 10 * time.Second

type handlerPool struct{ *gopool.Pool }

// handlerJob is one request handed to the pool; kept in a sync.Pool with
// its run method bound once, so a request allocates nothing for it.
type handlerJob struct {
	handle func(*sip.Request, sip.ServerTransaction)
	req    *sip.Request
	tx     sip.ServerTransaction
	done   chan struct{}
	run    func()
}

var handlerJobs = sync.Pool{New: func() any {
	j := &handlerJob{done: make(chan struct{}, 1)}
	j.run = func() {
		// done even when the handler panics: the panic still takes the
		// daemon down, as it did on sipgo's goroutine.
		defer func() { j.done <- struct{}{} }()
		j.handle(j.req, j.tx)
	}
	return j
}}

func newHandlerPool() handlerPool { return handlerPool{gopool.New(maxIdleHandlers, handlerIdle)} }

// wrap returns h run on the pool, for sipgo's OnRequest of method m. A
// request that can wait lets new calls go first (new_calls_first.go).
func (p handlerPool) wrap(m sip.RequestMethod, h func(*sip.Request, sip.ServerTransaction)) func(*sip.Request, sip.ServerTransaction) {
	if goesFirst(m) {
		return func(req *sip.Request, tx sip.ServerTransaction) { p.run(h, req, tx) }
	}
	return func(req *sip.Request, tx sip.ServerTransaction) {
		YieldToNewCalls()
		p.run(h, req, tx)
	}
}

// run calls h on a pooled goroutine and returns once h has.
func (p handlerPool) run(h func(*sip.Request, sip.ServerTransaction), req *sip.Request, tx sip.ServerTransaction) {
	j := handlerJobs.Get().(*handlerJob)
	j.handle, j.req, j.tx = h, req, tx
	p.Go(j.run)
	<-j.done
	j.handle, j.req, j.tx = nil, nil, nil
	handlerJobs.Put(j)
}
