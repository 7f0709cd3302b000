package media

import "time"

// player is one Play in progress. The session's current one is s.player
// (guarded by controlMu); whoever takes the stream away clears that and
// closes stop, so the player's goroutine ends within one frame.
type player struct {
	s    *Session
	clip *Clip
	gen  uint64        // the session's output generation this play owns
	stop chan struct{} // closed when preempted or the session closes
	buf  [mohPacketLen]byte
}

// Play plays clip to s once, starting at once and paced every 20 ms. Like
// Source.Add it takes the session's outgoing stream from whatever fed it (a
// session plays one thing at a time): it leaves its MOH source, is
// unbridged, or cuts a previous Play short. The stream continues (same
// SSRC, following seq and timestamps, marker on the first packet). While
// the peer holds the call (SetSending(false)) the clip still runs its
// course in time, unheard.
//
// done (may be nil) is called exactly once, from the play's own goroutine
// (never from within Play, never with this package's locks held): true once
// the last frame has been sent and its 20 ms have passed, false if
// something else took the stream first (Source.Add, Bridge, another Play)
// or the session closed. done may attach the session to something else.
// A nil or empty clip finishes at once.
func (s *Session) Play(clip *Clip, done func(finished bool)) {
	if clip == nil {
		clip = &Clip{}
	}
	controlMu.Lock()
	if s.closed {
		controlMu.Unlock()
		if done != nil {
			go done(false)
		}
		return
	}
	s.detachLocked()
	p := &player{s: s, clip: clip, stop: make(chan struct{})}
	p.gen = s.out.takeOwner()
	s.player = p
	controlMu.Unlock()
	s.log.Debug("rtp playing clip", "duration", clip.Duration())
	go p.run(done)
}

// stopPlayLocked cuts short the session's Play, if any. controlMu held.
func stopPlayLocked(s *Session) {
	if p := s.player; p != nil {
		s.player = nil
		close(p.stop)
	}
}

func (p *player) run(done func(bool)) {
	finished := p.play()
	if finished {
		// Preempted after the last frame but before this point counts as
		// preempted: the new owner already has the stream.
		controlMu.Lock()
		finished = p.s.player == p
		if finished {
			p.s.player = nil
		}
		controlMu.Unlock()
	}
	if done != nil {
		done(finished)
	}
}

// play sends the frames on a start + n*20ms schedule, so timer latency does
// not stretch the clip; a schedule more than maxTickLag behind restarts
// instead of bursting. It reports false if stopped first.
func (p *player) play() bool {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now()
	for i := range p.clip.frames {
		select {
		case <-p.stop:
			return false
		default:
		}
		p.send(i)
		wait := time.Until(start.Add(time.Duration(i+1) * frameDuration))
		if wait < -maxTickLag {
			start = start.Add(-wait)
			wait = 0
		}
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-p.stop:
				return false
			case <-timer.C:
			}
		}
	}
	return true
}

// send sends frame i in the peer's codec. Zero allocations.
func (p *player) send(i int) {
	ulaw, alaw := p.clip.frame(i)
	p.s.sendMOH(p.gen, &p.buf, ulaw, alaw)
}
