package media

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

const (
	frameDuration = 20 * time.Millisecond
	// maxTickLag is how far the ticker may fall behind schedule and still
	// catch up by sending the missed ticks back to back. Beyond it, phones
	// would get a burst their jitter buffers drop anyway, so resync instead.
	maxTickLag = 3 * frameDuration
	// minPerWorker is the smallest share of listeners worth handing to
	// another worker; below it the dispatch costs more than it saves.
	minPerWorker = 64
	// phaseSlots is how many phases a 20 ms period is cut into. Each
	// listener sends in its own phase, so the ticker wakes every
	// phaseStep and sends to one phase's listeners only: a walk over
	// thousands of listeners no longer makes the last one's packets leave
	// milliseconds late, and later the busier the box is. 2 ms phases:
	// 20 of 1 ms cost visibly more CPU in the scheduler's wake-ups
	// (bench/moh) for no better pacing on a loaded box.
	phaseSlots = 10
	phaseStep  = frameDuration / phaseSlots
)

// Source is music on hold: a loop of 8 kHz audio, encoded once in both
// G.711 laws, played by one ticker goroutine to every listening session.
// All listeners hear the same position (like a radio, except that it
// pauses while nobody listens), which is what makes one encode and one
// ticker per source possible. Listeners are spread over
// phaseSlots phases of the 20 ms period: each gets its frame at its own
// fixed offset in the period, one frame per period.
type Source struct {
	name   string
	ulaw   []byte // the whole loop, a multiple of frameSamples
	alaw   []byte
	frames int
	log    *slog.Logger

	mu     sync.Mutex
	phases [phaseSlots][]*listener // unordered; each knows its phase and index for O(1) removal
	count  int

	// Owned by the single goroutine calling tick.
	pos      int
	snapshot []*listener
	batch    *sendBatch // the ticker's share's packets; made on first use

	running atomic.Bool
	// woken says a listener arrived at a source with none: Run sleeps
	// while nobody listens instead of waking every phaseStep.
	woken chan struct{}
}

// listener is one session on a source. It holds no packet buffer: each
// sending goroutine writes every packet in one buffer of its own, which
// stays in the CPU's cache, where one per listener meant three cold cache
// lines written per packet.
type listener struct {
	s     *Session
	gen   uint64 // the session's output generation this listener owns
	phase int    // which of Source.phases; fixed while attached
	idx   int    // index in Source.phases[phase]; guarded by Source.mu
}

// NewSourceFromPCM makes a source from 8 kHz mono linear PCM. The loop is
// padded with silence to whole 20 ms frames; empty input gives one silent
// frame.
func NewSourceFromPCM(name string, pcm8k []int16) *Source {
	if len(pcm8k) == 0 {
		pcm8k = make([]int16, frameSamples)
	}
	loop := NewClip(pcm8k)
	return &Source{
		name:   name,
		ulaw:   loop.ulaw,
		alaw:   loop.alaw,
		frames: loop.frames,
		log:    slog.Default().With("moh", name),
		woken:  make(chan struct{}, 1),
	}
}

// Name is the source's name (the builtin's, or the WAV file's base name).
func (src *Source) Name() string { return src.name }

// SetLogger replaces the logger (default slog.Default()). Call before Run.
func (src *Source) SetLogger(log *slog.Logger) {
	if log != nil {
		src.log = log.With("moh", src.name)
	}
}

// Listeners is the number of sessions currently attached.
func (src *Source) Listeners() int {
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.count
}

// Add starts playing to s. s keeps its own SSRC and continues its sequence
// numbers and timestamps; the first packet after Add carries the marker
// bit. A session plays one thing at a time: Add moves s off another source
// and out of a bridge (Unbridge), and cuts a Play short. Adding a closed
// session does nothing.
func (src *Source) Add(s *Session) {
	controlMu.Lock()
	defer controlMu.Unlock()
	if s.closed || s.moh == src {
		return
	}
	if s.bridgePeer != nil {
		unbridgeLocked(s)
	}
	if s.moh != nil {
		s.moh.removeLocked(s)
	}
	stopPlayLocked(s)
	src.addLocked(s)
}

// addLocked attaches s, which plays nothing else. controlMu held.
func (src *Source) addLocked(s *Session) {
	l := &listener{s: s, gen: s.out.takeOwner()}
	src.mu.Lock()
	// The least busy phase, so phases stay even as calls come and go.
	for p := range src.phases {
		if len(src.phases[p]) < len(src.phases[l.phase]) {
			l.phase = p
		}
	}
	l.idx = len(src.phases[l.phase])
	src.phases[l.phase] = append(src.phases[l.phase], l)
	src.count++
	first := src.count == 1
	src.mu.Unlock()
	if first {
		select {
		case src.woken <- struct{}{}:
		default:
		}
	}
	s.moh, s.mohEntry = src, l
}

// MoveListeners puts every session listening to src on dst in one step,
// so a reload that changes the music never leaves a caller in silence and
// never touches a session that meanwhile went to a bridge or a prompt.
func (src *Source) MoveListeners(dst *Source) int {
	if src == dst {
		return 0
	}
	controlMu.Lock()
	defer controlMu.Unlock()
	src.mu.Lock()
	sessions := make([]*Session, 0, src.count)
	for _, phase := range src.phases {
		for _, l := range phase {
			sessions = append(sessions, l.s)
		}
	}
	src.mu.Unlock()
	for _, s := range sessions {
		src.removeLocked(s)
		dst.addLocked(s)
	}
	return len(sessions)
}

// Remove stops playing to s (if it is on this source).
func (src *Source) Remove(s *Session) {
	controlMu.Lock()
	defer controlMu.Unlock()
	if s.moh == src {
		src.removeLocked(s)
	}
}

// removeLocked detaches s, which must be on src. controlMu held.
func (src *Source) removeLocked(s *Session) {
	l := s.mohEntry
	src.mu.Lock()
	phase := src.phases[l.phase]
	last := len(phase) - 1
	moved := phase[last]
	phase[l.idx] = moved
	moved.idx = l.idx
	phase[last] = nil
	src.phases[l.phase] = phase[:last]
	src.count--
	src.mu.Unlock()
	s.moh, s.mohEntry = nil, nil
	// A tick already holding l in its snapshot will find the generation
	// changed and skip it.
	s.out.releaseOwner()
}

// Run drives the source until ctx is done: every phaseStep the listeners
// of the next phase get the current frame in their codec, and after the
// last phase the loop moves on by one frame. The schedule is
// start + k*phaseStep, so timer and send latency do not accumulate into
// drift; falling more than maxTickLag behind moves the schedule instead of
// bursting (keeping the phase order, so nobody gets a frame twice). Run
// must not be called twice at the same time on one source.
func (src *Source) Run(ctx context.Context) {
	if !src.running.CompareAndSwap(false, true) {
		src.log.Error("moh source is already running")
		return
	}
	defer src.running.Store(false)

	pool := newFanoutPool(runtime.GOMAXPROCS(0), src.log)
	defer pool.close()
	defer src.closeBatch()

	timer := newTickTimer(phaseStep)
	defer timer.stop()
	var lastResyncLog time.Time
	start := time.Now()
	for k := 0; ; k++ {
		if ctx.Err() != nil {
			return
		}
		if !src.tickPhase(pool, k%phaseSlots) {
			// Nobody listens: sleep until somebody does, and resume
			// with the next phase at once.
			select {
			case <-ctx.Done():
				return
			case <-src.woken:
			}
			start = time.Now().Add(-time.Duration(k+1) * phaseStep)
		}

		next := time.Duration(k+1) * phaseStep
		wait := time.Until(start.Add(next))
		if wait < -maxTickLag {
			if time.Since(lastResyncLog) > 10*time.Second {
				lastResyncLog = time.Now()
				src.log.Warn("moh ticker fell behind; resynchronizing", "behind", -wait, "listeners", src.Listeners())
			}
			start, wait = time.Now().Add(phaseStep-next), phaseStep
		}
		if wait > 0 {
			timer.reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
				timer.fired()
			}
		}
	}
}

// tick runs one whole period at once: every listener gets the current
// frame and the loop advances (tests and benchmarks; Run paces phases).
func (src *Source) tick(pool *fanoutPool) {
	for p := range phaseSlots {
		src.tickPhase(pool, p)
	}
}

// tickPhase sends the current frame to the listeners of one phase; after
// the last phase the loop advances. The phase's list is copied into a
// reused snapshot under a brief lock so Add/Remove never wait for the
// sends. Zero allocations in steady state. It reports whether the source
// has any listener.
func (src *Source) tickPhase(pool *fanoutPool, phase int) (listened bool) {
	src.mu.Lock()
	src.snapshot = append(src.snapshot[:0], src.phases[phase]...)
	listened = src.count > 0
	src.mu.Unlock()

	off := src.pos * frameSamples
	f := frame{ulaw: src.ulaw[off : off+frameSamples], alaw: src.alaw[off : off+frameSamples], at: time.Now()}
	if phase == phaseSlots-1 {
		src.pos++
		if src.pos == src.frames {
			src.pos = 0
		}
	}

	if len(src.snapshot) > 0 {
		if src.batch == nil {
			src.batch = newSendBatch(src.log, mohPacketLen)
		}
		pool.send(src.snapshot, f, src.batch)
		clear(src.snapshot) // do not keep removed sessions reachable
	}
	return listened
}

// closeBatch releases the ticker's batch when Run ends.
func (src *Source) closeBatch() {
	if src.batch != nil {
		src.batch.close()
		src.batch = nil
	}
}

// frame is one 20 ms of audio in both laws, and the time its phase went
// out: one clock read per phase, not per packet.
type frame struct {
	ulaw, alaw []byte
	at         time.Time
}

// sendFrames sends f to each of ls. A send reads three objects per
// listener besides the listener itself (the session, its peer state, its
// socket), each cold in the cache by the time a period comes round, and
// waiting on them was most of what music cost beyond the kernel's floor.
// So while one packet is written, the objects of the next listeners are
// fetched: their pointers first (a listener three ahead, a session two
// ahead), then what the next session points to. The packets go to the
// kernel in batches (sendbatch_linux.go): one system call per
// sendBatchMax of them.
func sendFrames(ls []*listener, f frame, b *sendBatch) {
	for i, l := range ls {
		if b.full() {
			b.flush() // before taking the next session's lock: see sendFailed
		}
		if i+3 < len(ls) {
			prefetch(unsafe.Pointer(ls[i+3]))
		}
		if i+2 < len(ls) {
			prefetch(unsafe.Pointer(ls[i+2].s))
		}
		if i+1 < len(ls) {
			n := ls[i+1].s
			prefetch(unsafe.Pointer(n.peer.Load()))
			prefetch(unsafe.Pointer(n.sock))
		}
		l.s.sendMOH(l.gen, b, f)
	}
	b.flush()
}

// fanoutPool splits one tick's sends across a fixed set of goroutines (one
// per CPU, the ticker being one of them), so thousands of listeners fit in
// a 20 ms tick without a goroutine per call. A nil pool sends serially.
type fanoutPool struct {
	workers int
	minPart int // the smallest share handed to a helper (minPerWorker; tests lower it)
	jobs    chan fanoutJob
	wg      sync.WaitGroup
	exited  sync.WaitGroup // the helpers, which close their batches as they go
}

type fanoutJob struct {
	part  []*listener
	frame frame
}

func newFanoutPool(workers int, log *slog.Logger) *fanoutPool {
	if workers < 2 {
		return nil
	}
	p := &fanoutPool{workers: workers, minPart: minPerWorker, jobs: make(chan fanoutJob, workers)}
	for range workers - 1 {
		b := newSendBatch(log, mohPacketLen)
		p.exited.Go(func() {
			defer b.close()
			for j := range p.jobs {
				sendFrames(j.part, j.frame, b)
				p.wg.Done()
			}
		})
	}
	return p
}

// close stops the helper goroutines; only after the last send returned.
// It returns once they are gone, their rings released.
func (p *fanoutPool) close() {
	if p != nil {
		close(p.jobs)
		p.exited.Wait()
	}
}

// send sends f to ls, the caller's share through b.
func (p *fanoutPool) send(ls []*listener, f frame, b *sendBatch) {
	if p == nil || len(ls) < 2*p.minPart {
		sendFrames(ls, f, b)
		return
	}
	chunk := max(p.minPart, (len(ls)+p.workers-1)/p.workers)
	for lo := chunk; lo < len(ls); lo += chunk {
		p.wg.Add(1)
		p.jobs <- fanoutJob{part: ls[lo:min(lo+chunk, len(ls))], frame: f}
	}
	sendFrames(ls[:chunk], f, b)
	p.wg.Wait()
}
