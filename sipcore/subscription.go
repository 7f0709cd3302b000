package sipcore

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore/presence"
)

// Subscription-State values of a final NOTIFY (RFC 6665 §4.1.3).
const (
	stateTimeout  = "terminated;reason=timeout"                  // expired, or the subscriber asked to end it
	stateShutdown = "terminated;reason=probation;retry-after=10" // parkd is stopping: come back after a restart
)

// Subscription is one subscription dialog: parkd is the notifier.
type Subscription struct {
	ep       *Endpoint
	ID       DialogID
	Event    string // EventDialog or EventPresence
	Resource string // what the handler resolved the target to
	Source   string // host:port the SUBSCRIBE came from
	sourceIP string
	eventHdr string // the Event header value NOTIFYs echo, id parameter included
	log      *slog.Logger
	rs       *resourceState // set by the registry

	mu sync.Mutex // serialises the dialog's requests and NOTIFYs
	dialogPeer
	remoteCSeq uint32
	expiresAt  time.Time
	timer      *time.Timer
	version    uint32 // the next dialog-info version: 0, 1, 2 … per subscription
	// warnedDatagram: a NOTIFY over UDP left calls of a busy lot out
	// (presence.Body.ForDatagram), and the log said so once.
	warnedDatagram bool
	body           presence.Body
	bodySeq        uint64
	inflight       bool   // a NOTIFY waits for its response (or for room at its destination): RFC 6665 allows one at a time
	dirty          bool   // a NOTIFY is due once the in-flight one is answered
	final          string // set once the subscription ends: the last NOTIFY's Subscription-State
	gone           bool   // nothing more will be sent
	finished       chan struct{}
	finishOnce     sync.Once
	head           *notifyHead // what every UDP NOTIFY starts with, made on first use
}

// finish marks the final NOTIFY answered (or given up on), for Shutdown.
func (s *Subscription) finish() { s.finishOnce.Do(func() { close(s.finished) }) }

// update hands s a newer body; callers are the resource's fan-out.
func (s *Subscription) update(body presence.Body, seq uint64, track *fanoutTrack, batch *notifyBatch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq <= s.bodySeq || s.final != "" {
		track.done()
		return
	}
	s.body, s.bodySeq = body, seq
	s.flushLocked(track, batch)
}

// flushLocked sends the current state now, or once the NOTIFY in flight is
// answered; a burst of changes then costs one NOTIFY with the latest body.
// Callers hold s.mu.
func (s *Subscription) flushLocked(track *fanoutTrack, batch *notifyBatch) {
	if s.gone {
		track.done()
		return
	}
	if s.inflight {
		s.dirty = true
		track.done()
		return
	}
	s.inflight, s.dirty = true, false
	if s.transport == "udp" {
		s.notifyUDPLocked(track, batch) // parkd's own transaction: notify_tx.go
		return
	}
	req := s.notifyLocked()
	s.ep.stats.notifiesSent.Add(1)
	final := s.final != ""
	if final {
		s.gone = true
	}
	go func() { // a TCP write may have to wait for the connection
		tx, err := s.ep.client.TransactionRequest(context.Background(), req)
		track.done()
		s.await(tx, err, final)
	}()
}

// notifyLocked builds the next NOTIFY; callers hold s.mu.
func (s *Subscription) notifyLocked() *sip.Request {
	req := s.newRequest(s.ep, sip.NOTIFY)
	req.AppendHeader(sip.NewHeader("Event", s.eventHdr))
	state := s.final
	if state == "" {
		left := max(int(time.Until(s.expiresAt).Round(time.Second)/time.Second), 1)
		state = fmt.Sprintf("active;expires=%d", left)
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(sip.NewHeader("Content-Type", s.body.ContentType()))
	req.SetBody(s.body.Bytes(s.version))
	s.version++
	return req
}

// await waits for a NOTIFY's answer: a 481, a 4xx/6xx or no answer at
// all means the phone no longer has the subscription.
func (s *Subscription) await(tx sip.ClientTransaction, err error, final bool) {
	// A timer, not a context deadline: this runs once per subscriber per
	// change, and a timer is the cheaper of the two.
	timeout := time.NewTimer(s.ep.live().Subscriptions.NotifyTimeout)
	defer timeout.Stop()
	if final {
		defer s.finish()
	}
	if err != nil {
		s.failed(final, "sending NOTIFY failed", "error", err)
		return
	}
	defer tx.Terminate()
	var res *sip.Response
	for res == nil {
		select {
		case r := <-tx.Responses():
			if !r.IsProvisional() {
				res = r
			}
		case <-tx.Done():
			s.failed(final, "NOTIFY not answered", "error", tx.Err())
			return
		case <-timeout.C:
			s.failed(final, "NOTIFY not answered", "timeout", s.ep.live().Subscriptions.NotifyTimeout)
			return
		}
	}
	s.answered(res.StatusCode, final)
}

// answered takes a NOTIFY's final response: a 481, or any 4xx/6xx, means
// the phone no longer has the subscription; a 5xx only that it is busy.
func (s *Subscription) answered(status int, final bool) {
	switch {
	case status >= 200 && status < 300:
	case final:
		s.ep.stats.notifiesFailed.Add(1)
	case status >= 500 && status < 600:
		// A busy phone: keep the subscription; the next change retries.
		s.ep.stats.notifiesFailed.Add(1)
		s.log.Info("NOTIFY refused for now", "status", status)
	default:
		s.failed(final, "NOTIFY refused: subscription removed", "status", status)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight = false
	if s.dirty {
		s.flushLocked(nil, nil)
	}
}

// failed counts a NOTIFY the phone did not take and drops its subscription.
func (s *Subscription) failed(final bool, msg string, args ...any) {
	s.ep.stats.notifiesFailed.Add(1)
	if final {
		s.log.Debug("final "+msg, args...)
		return
	}
	s.log.Info(msg, args...)
	defer s.finish()
	s.mu.Lock()
	s.gone = true
	if s.final == "" {
		s.final = "terminated;reason=noresource"
	}
	s.stopTimerLocked()
	s.mu.Unlock()
	s.ep.dropSubscription(s)
}

// terminate ends the subscription with a final NOTIFY carrying state.
func (s *Subscription) terminate(state string) {
	if s.end(state) {
		s.sendFinal()
	}
}

// end marks the subscription ended with state and unregisters it; false
// when it had already ended.
func (s *Subscription) end(state string) bool {
	if !s.seal(state, nil, 0) {
		return false
	}
	s.ep.dropSubscription(s)
	return true
}

// seal marks s ended with state, its final NOTIFY carrying latest when
// that is newer than what s has (nil: what s has); false when s had
// already ended.
func (s *Subscription) seal(state string, latest *presence.Body, seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final != "" {
		return false
	}
	if latest != nil && seq > s.bodySeq {
		s.body, s.bodySeq = *latest, seq
	}
	s.final = state
	s.stopTimerLocked()
	return true
}

// sendFinal sends the final NOTIFY once any NOTIFY in flight is answered.
func (s *Subscription) sendFinal() {
	s.mu.Lock()
	s.flushLocked(nil, nil)
	s.mu.Unlock()
}

// extendLocked (re)arms the expiry timer; callers hold s.mu.
func (s *Subscription) extendLocked(d time.Duration) {
	s.expiresAt = time.Now().Add(d)
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.expire)
		return
	}
	s.timer.Reset(d)
}

func (s *Subscription) expire() {
	s.mu.Lock()
	early := time.Until(s.expiresAt) > 0 // refreshed while the timer fired
	s.mu.Unlock()
	if early {
		return
	}
	s.log.Info("subscription expired")
	s.terminate(stateTimeout)
}

func (s *Subscription) stopTimerLocked() {
	if s.timer != nil {
		s.timer.Stop()
	}
}

// ended reports whether a final NOTIFY has been sent or the subscription
// was dropped.
func (s *Subscription) ended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.final != ""
}

// dropSubscription unregisters s and tells the handler the count changed.
func (ep *Endpoint) dropSubscription(s *Subscription) {
	if ep.subs.remove(s) {
		ep.handler.SubscriptionsChanged(s.Resource)
	}
}
