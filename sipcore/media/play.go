package media

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// player is one Play in progress. The session's current one is s.player
// (guarded by controlMu); whoever takes the stream away clears that and
// marks it stopped, and the next tick drops it.
type player struct {
	s       *Session
	clip    *Clip
	frames  int    // clip.frames: the ticker reads it every tick, and the clip is cold
	gen     uint64 // the session's output generation this play owns
	done    func(finished bool)
	next    int         // the frame the next tick sends; owned by the ticker
	ended   bool        // the ticker is dropping it; owned by the ticker
	stopped atomic.Bool // preempted, or the session closed

	// part is the recording the next frames come from (a prompt the clip
	// is joined from, which every call's announcement shares), and the
	// clip's frames [partStart, partEnd) are its. Found once per part, not
	// once per frame: a call's own joined clip is rarely in the cache.
	part               *Clip
	partStart, partEnd int
}

// plays paces every Play in progress from one goroutine, as a Source does
// its music: a slot announcement per parked call would otherwise be a
// goroutine and a timer waking 50 times a second each.
var plays playTicker

type playTicker struct {
	mu      sync.Mutex
	players []*player
	running bool
	// batch is the running goroutine's; kept between runs, since a
	// ticker that stops whenever nobody plays would otherwise set up a
	// ring for every announcement of a quiet system.
	batch *sendBatch
}

// Play plays clip to s once, paced every 20 ms from the next tick. Like
// Source.Add it takes the session's outgoing stream from whatever fed it (a
// session plays one thing at a time): it leaves its MOH source, is
// unbridged, or cuts a previous Play short. The stream continues (same
// SSRC, following seq and timestamps, marker on the first packet). While
// the peer holds the call (SetSending(false)) the clip still runs its
// course in time, unheard.
//
// done (may be nil) is called exactly once, in a goroutine of its own
// (never from within Play, never with this package's locks held): true once
// the last frame has been sent and its 20 ms have passed, false if
// something else took the stream first (Source.Add, Bridge, another Play)
// or the session closed. done may attach the session to something else.
// A nil or empty clip finishes at once.
func (s *Session) Play(clip *Clip, done func(finished bool)) {
	if clip == nil {
		clip = &Clip{}
	}
	if done == nil {
		done = func(bool) {}
	}
	controlMu.Lock()
	if s.closed {
		controlMu.Unlock()
		go done(false)
		return
	}
	s.detachLocked()
	p := &player{s: s, clip: clip, frames: clip.frames, done: done}
	p.gen = s.out.takeOwner()
	s.player = p
	controlMu.Unlock()
	s.log.Debug("rtp playing clip", "duration", clip.Duration())
	if clip.frames == 0 {
		p.finish()
		return
	}
	plays.add(p)
}

// stopPlayLocked cuts short the session's Play, if any. controlMu held.
func stopPlayLocked(s *Session) {
	if p := s.player; p != nil {
		s.player = nil
		p.stopped.Store(true)
	}
}

// finish reports the end of a play that sent all its frames: finished
// unless something took the stream after its last frame.
func (p *player) finish() {
	controlMu.Lock()
	finished := p.s.player == p && !p.stopped.Load()
	if finished {
		p.s.player = nil
	}
	controlMu.Unlock()
	go p.done(finished)
}

func (t *playTicker) add(p *player) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.players = append(t.players, p)
	if !t.running {
		t.running = true
		go t.run()
	}
}

// run sends one frame to every player per tick on a start + n*20ms
// schedule (falling more than maxTickLag behind restarts it), and exits
// when nobody plays.
func (t *playTicker) run() {
	timer := newTickTimer(time.Hour)
	defer timer.stop()
	start := time.Now()
	var batch, ended []*player
	t.mu.Lock()
	if t.batch == nil {
		t.batch = newSendBatch(slog.Default(), mohPacketLen)
	}
	out := t.batch
	t.mu.Unlock()
	for n := 1; ; n++ {
		batch = t.snapshot(batch[:0])
		if batch == nil {
			return
		}
		ended = ended[:0]
		now := time.Now() // one clock read per tick, as a Source's phase does
		for _, p := range batch {
			switch {
			case p.stopped.Load(), p.next == p.frames:
				// Preempted, or its last frame went out a tick ago and
				// has been heard.
				p.ended = true
				ended = append(ended, p)
			default:
				if out.full() {
					out.flush()
				}
				p.send(p.next, now, out)
				p.next++
			}
		}
		out.flush()
		t.drop(ended)
		for _, p := range ended {
			if p.stopped.Load() {
				go p.done(false)
			} else {
				p.finish()
			}
		}
		wait := time.Until(start.Add(time.Duration(n) * frameDuration))
		if wait < -maxTickLag {
			start = start.Add(-wait)
			wait = 0
		}
		timer.reset(wait)
		<-timer.C
		timer.fired()
	}
}

// snapshot copies the players into buf; nil (and the ticker stops) when
// there are none.
func (t *playTicker) snapshot(buf []*player) []*player {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.players) == 0 {
		t.running = false
		return nil
	}
	return append(buf, t.players...)
}

func (t *playTicker) drop(ended []*player) {
	if len(ended) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	kept := t.players[:0]
	for _, p := range t.players {
		if !p.ended {
			kept = append(kept, p)
		}
	}
	clear(t.players[len(kept):])
	t.players = kept
}

// send sends frame i in the peer's codec, through out. Zero allocations.
func (p *player) send(i int, now time.Time, out *sendBatch) {
	if p.part == nil || i < p.partStart || i >= p.partEnd {
		p.part, p.partStart, p.partEnd = p.clip.partAt(i)
	}
	ulaw, alaw := p.part.ownFrame(i - p.partStart)
	p.s.sendMOH(p.gen, out, frame{ulaw: ulaw, alaw: alaw, at: now})
}
