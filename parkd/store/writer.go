package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// defaultQueueRows bounds the rows waiting for the disk. At a few hundred
// bytes a row that is some tens of MB in the worst case, and minutes of a
// busy system's events, which is long enough to ride out a slow disk.
const defaultQueueRows = 65536

// chunkRows is the queue's growth step: the queue grows by small chunks,
// so Add never copies a large slice while it holds the lock.
const chunkRows = 256

// maxFreeChunks caps the chunks kept for reuse, so a burst's memory is
// given back once the queue drains.
const maxFreeChunks = 16

// defaultCommitGap is the least time between two history commits. Under
// load it turns one commit (and one fsync) per row into one per gap; a
// row waits at most this long beyond the disk's own time, and a reader
// who flushes does not wait for it. Each commit rewrites the pages its
// rows touched, the indexes' included, so fewer commits write fewer
// pages: at 250 park+retrieve pairs/s, 200 ms cost a pair 5.6 % less
// CPU than 50 ms (docs/PERFORMANCE.md, sixteenth pass). What a crash
// can lose is the rows of one gap; a quiet system writes each at once.
const defaultCommitGap = 200 * time.Millisecond

// HistoryWriter records history rows in the background. The daemon emits
// events while it holds a slot's lock, so Add must never wait for the
// disk: it queues the row, or drops it (see Dropped) when the queue is
// full. One goroutine writes whatever has queued since its last
// transaction in a single transaction, so rows per commit grow with load.
type HistoryWriter struct {
	s         *Store
	log       *slog.Logger
	max       int
	commitGap time.Duration

	dropped atomic.Uint64
	late    atomic.Uint64 // rows added after Close
	commits atomic.Uint64 // transactions written, for tests

	mu        sync.Mutex
	chunks    [][]HistoryRow // queued rows, oldest first
	free      [][]HistoryRow
	queued    int
	closed    bool
	enqueued  uint64        // sequence number of the last row queued
	processed uint64        // ... of the last row written or given up on
	progress  chan struct{} // closed and replaced when processed moves
	failed    uint64        // rows lost to write errors
	reported  uint64        // failed rows already returned by Flush/Close
	lastErr   error

	wake      chan struct{} // capacity 1: "there is work", never blocks Add
	hurry     chan struct{} // capacity 1: a Flush waits, so skip the commit gap
	stop      chan struct{}
	done      chan struct{}
	abort     context.CancelFunc
	closeOnce sync.Once

	// Owned by the writer goroutine: the state of the current drop and
	// failure bursts, so each burst logs once, not once per row or batch.
	seenDrops, burstDrops uint64
	dropBurst, failBurst  bool
	failedInBurst         uint64
}

// NewHistoryWriter starts a writer; stop it with Close before closing the
// Store. A nil log means slog.Default().
func (s *Store) NewHistoryWriter(log *slog.Logger) *HistoryWriter {
	return s.newHistoryWriter(log, defaultQueueRows, defaultCommitGap)
}

func (s *Store) newHistoryWriter(log *slog.Logger, queueRows int, commitGap time.Duration) *HistoryWriter {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &HistoryWriter{
		s:         s,
		log:       log,
		max:       queueRows,
		commitGap: commitGap,
		progress:  make(chan struct{}),
		wake:      make(chan struct{}, 1),
		hurry:     make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		abort:     cancel,
	}
	go w.run(ctx)
	return w
}

// Add queues row without blocking. A zero Time is set to now here, not at
// write time, which may be much later. Rows added after Close are not
// written; Late counts them.
func (w *HistoryWriter) Add(row HistoryRow) {
	if row.Time.IsZero() {
		row.Time = time.Now()
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.late.Add(1) // not a full queue: the daemon stops (see Late)
		return
	}
	if w.queued >= w.max {
		w.mu.Unlock()
		// Logging here could block on the log's output while the daemon
		// holds a slot lock; the writer goroutine reports drops instead.
		w.dropped.Add(1)
		return
	}
	n := len(w.chunks)
	if n == 0 || len(w.chunks[n-1]) == cap(w.chunks[n-1]) {
		w.chunks = append(w.chunks, w.newChunk())
		n++
	}
	w.chunks[n-1] = append(w.chunks[n-1], row)
	w.queued++
	w.enqueued++
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *HistoryWriter) newChunk() []HistoryRow {
	if n := len(w.free); n > 0 {
		c := w.free[n-1]
		w.free = w.free[:n-1]
		return c
	}
	return make([]HistoryRow, 0, chunkRows)
}

// Dropped is how many rows were lost because the queue was full. Rows lost
// to write errors are reported by Flush instead.
func (w *HistoryWriter) Dropped() uint64 { return w.dropped.Load() }

// Late is how many rows were added after Close and so never written: calls
// that ended after the daemon gave up waiting for them at shutdown.
func (w *HistoryWriter) Late() uint64 { return w.late.Load() }

// Flush waits until every row added before it was called is written, and
// returns an error if rows were lost to write errors since the previous
// Flush or Close reported them.
func (w *HistoryWriter) Flush(ctx context.Context) error {
	select {
	case w.hurry <- struct{}{}:
	default:
	}
	w.mu.Lock()
	target := w.enqueued
	for w.processed < target {
		ch := w.progress
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		w.mu.Lock()
	}
	err := w.takeErr()
	w.mu.Unlock()
	return err
}

// Close writes what is queued and stops the writer. If ctx ends first,
// the write in progress is abandoned and the rows still queued are lost
// (and reported in the error), so shutdown is never held up by a disk.
func (w *HistoryWriter) Close(ctx context.Context) error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.stop)
	})
	select {
	case <-w.done:
	case <-ctx.Done():
		w.abort()
		<-w.done
	}
	w.mu.Lock()
	err := w.takeErr()
	w.mu.Unlock()
	return err
}

// takeErr reports failed rows once; w.mu must be held.
func (w *HistoryWriter) takeErr() error {
	if w.failed == w.reported {
		return nil
	}
	n := w.failed - w.reported
	w.reported = w.failed
	return fmt.Errorf("store: %d history rows were not written: %w", n, w.lastErr)
}

func (w *HistoryWriter) run(ctx context.Context) {
	defer close(w.done)
	gap := time.NewTimer(0)
	<-gap.C
	var last time.Time // of the last commit
	for {
		select {
		case <-w.wake:
		case <-w.stop:
		}
		for {
			// A commit costs the same for one row as for hundreds, and
			// under load a row arrives every few milliseconds: waiting out
			// the gap lets them share one. The first row after a quiet
			// spell is written at once.
			if wait := time.Until(last.Add(w.commitGap)); wait > 0 {
				gap.Reset(wait)
				select {
				case <-gap.C:
				case <-w.hurry:
					gap.Stop()
				case <-w.stop:
					gap.Stop()
				}
			}
			if !w.writeBatch(ctx) {
				break
			}
			last = time.Now()
		}
		select {
		case <-w.stop:
			// closed is set before stop, so nothing can be queued now.
			w.abort()
			return
		default:
		}
	}
}

// writeBatch writes everything queued in one transaction and reports
// whether there was anything to write.
func (w *HistoryWriter) writeBatch(ctx context.Context) bool {
	w.mu.Lock()
	chunks := w.chunks
	w.chunks = nil
	n := w.queued
	w.queued = 0
	last := w.enqueued
	w.mu.Unlock()
	if len(chunks) == 0 {
		return false
	}

	err := w.s.appendHistory(ctx, chunks...)
	w.commits.Add(1)
	w.reportFailure(n, err)
	w.reportDrops()
	for _, c := range chunks {
		clear(c) // let the strings go before the chunk is reused
	}

	w.mu.Lock()
	if err != nil {
		w.failed += uint64(n)
		w.lastErr = err
	}
	w.processed = last
	close(w.progress)
	w.progress = make(chan struct{})
	for _, c := range chunks {
		if len(w.free) < maxFreeChunks {
			w.free = append(w.free, c[:0])
		}
	}
	w.mu.Unlock()
	return true
}

func (w *HistoryWriter) reportFailure(rows int, err error) {
	switch {
	case err != nil && !w.failBurst:
		w.failBurst = true
		w.failedInBurst = uint64(rows)
		w.log.Error("history rows not written; further failures are not logged until a write succeeds",
			"db", w.s.path, "rows", rows, "err", err)
	case err != nil:
		w.failedInBurst += uint64(rows)
	case w.failBurst:
		w.failBurst = false
		w.log.Info("history writes working again", "db", w.s.path, "rows_lost", w.failedInBurst)
	}
}

// reportDrops logs a WARN when drops start and an INFO with the count
// once a batch completes with no new drops.
func (w *HistoryWriter) reportDrops() {
	d := w.dropped.Load()
	switch {
	case d > w.seenDrops && !w.dropBurst:
		w.dropBurst = true
		w.burstDrops = w.seenDrops
		w.seenDrops = d
		w.log.Warn("history queue full: dropping history rows until the disk catches up",
			"db", w.s.path, "queue_rows", w.max, "dropped_total", d)
	case d > w.seenDrops:
		w.seenDrops = d
	case w.dropBurst:
		w.dropBurst = false
		w.log.Info("history queue has room again", "db", w.s.path,
			"dropped", d-w.burstDrops, "dropped_total", d)
	}
}
