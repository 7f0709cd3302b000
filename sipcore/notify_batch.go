package sipcore

import (
	"errors"
	"net"
	"sync"

	"golang.org/x/net/ipv4"

	"github.com/parkd/parkd/internal/mmsg"
)

// notifyBatchSize is how many NOTIFYs one sendmmsg hands the kernel. A
// fan-out to 1,000 watchers costs about half as much CPU in 64-message
// batches as in 1,000 sendto calls, and 64 writes are still written
// within a fraction of a millisecond of the first.
const notifyBatchSize = 64

// notifyBatch collects the UDP NOTIFYs of one fan-out goroutine and writes
// them with as few system calls as the kernel allows. Not safe for
// concurrent use: each deliver goroutine has its own.
type notifyBatch struct {
	ep    *Endpoint
	txs   []*udpTx
	track []*fanoutTrack
	msgs  []ipv4.Message
	bufs  [][1][]byte
}

// notifyBatches keeps the batches' arrays from one fan-out to the next:
// grown anew each time they were a tenth of what a change allocated once
// the NOTIFYs' own buffers were pooled.
var notifyBatches = sync.Pool{New: func() any { return &notifyBatch{} }}

// newNotifyBatch returns an empty batch for ep; done gives it back.
func (ep *Endpoint) newNotifyBatch() *notifyBatch {
	b := notifyBatches.Get().(*notifyBatch)
	b.ep = ep
	return b
}

// done gives an empty batch back once its fan-out is written.
func (b *notifyBatch) done() {
	b.ep = nil
	notifyBatches.Put(b)
}

// add queues tx, already registered. The caller flushes a full batch
// once it let go of the subscription's lock (deliver).
func (b *notifyBatch) add(tx *udpTx, track *fanoutTrack) {
	b.txs = append(b.txs, tx)
	b.track = append(b.track, track)
}

// full says the batch should be written before more are added.
func (b *notifyBatch) full() bool { return len(b.txs) >= notifyBatchSize }

// flush writes what is queued and arms each NOTIFY's timers, or ends its
// transaction if the kernel refused it. All of a batch goes out on one
// socket: the endpoint's UDP listener.
func (b *notifyBatch) flush() {
	if len(b.txs) == 0 {
		return
	}
	w := b.ep.notifier.batchWriter(b.txs[0].conn)
	b.msgs = b.msgs[:0]
	b.bufs = b.bufs[:0]
	for _, tx := range b.txs {
		b.bufs = append(b.bufs, [1][]byte{tx.msg})
	}
	for i, tx := range b.txs {
		b.msgs = append(b.msgs, ipv4.Message{Buffers: b.bufs[i][:], Addr: tx.addr})
	}
	for done := 0; done < len(b.txs); {
		// sendmmsg returns how many went out, without an error, when it
		// stops early (a full send buffer, or a message the kernel
		// refuses); the rest are tried again, and only a call that sends
		// nothing says what is wrong with the first of them.
		n, err := w.WriteBatch(b.msgs[done:], 0)
		if n > 0 {
			for i := done; i < done+n; i++ {
				b.ep.notifyWritten(b.txs[i], b.track[i], nil)
			}
			done += n
			continue
		}
		if err == nil {
			err = errors.New("sendmmsg wrote nothing")
		}
		b.ep.notifyWritten(b.txs[done], b.track[done], err)
		done++
	}
	clear(b.txs)
	clear(b.track)
	clear(b.bufs)
	for i := range b.msgs {
		b.msgs[i] = ipv4.Message{}
	}
	b.txs, b.track = b.txs[:0], b.track[:0]
}

// batchWriter is sendmmsg on a UDP socket (internal/mmsg).
type batchWriter = mmsg.Writer

// notifyConn caches the batch writer of the UDP listener NOTIFYs go out on.
type notifyConn struct {
	mu   sync.Mutex
	conn *net.UDPConn
	w    batchWriter
}

// batchWriter returns the batch writer of conn, made once.
func (n *notifier) batchWriter(conn *net.UDPConn) batchWriter {
	c := &n.batchConn
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != conn {
		c.conn = conn
		c.w = mmsg.NewWriter(conn)
	}
	return c.w
}
