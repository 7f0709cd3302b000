package simphone

import (
	"context"
	"fmt"
	"time"

	"github.com/parkd/parkd/sipcore"
)

// pickUp has a desk phone dial the retrieve extension: the call parked
// longest is bridged to it, they talk, and the desk hangs up.
func (t *Town) pickUp(d *desk) {
	if !d.claim() {
		t.log.Info(d.display + " is on another call and picks up nothing")
		return
	}
	defer d.release()
	t.log.Info(fmt.Sprintf("%s picks up the longest-waiting parked call (%s)", d.display, RetrieveExtension))
	call, err := t.originate(sipcore.Originate{Targets: []string{t.dialURI(RetrieveExtension)}, From: t.party(d.person)})
	if err != nil {
		if t.ctx.Err() == nil {
			t.log.Info(fmt.Sprintf("%s found nothing to pick up", d.display), "why", err)
		}
		return
	}
	d.src.Add(call.Media())
	t.converse(d, call, "the parked call", retrieveTalk)
}

// converse holds a desk phone's call for talkFor, then hangs up, unless
// the other side does first; it counts the audio heard.
func (t *Town) converse(d *desk, call *sipcore.Call, who string, talkFor time.Duration) {
	timer := time.NewTimer(t.scaled(talkFor))
	defer timer.Stop()
	select {
	case <-call.Done():
		t.log.Info(fmt.Sprintf("%s: %s hung up", d.display, who))
	case <-timer.C:
		t.log.Info(fmt.Sprintf("%s finishes talking to %s and hangs up", d.display, who))
		t.hangup(call, "done talking")
	case <-t.ctx.Done():
		t.hangup(call, "the demo is stopping")
	}
	heard := call.Media().PacketsReceived()
	t.mu.Lock()
	t.stats.Conversations++
	t.stats.Heard += heard
	if heard == 0 {
		t.stats.Silent++
	}
	t.mu.Unlock()
}

func (t *Town) originate(o sipcore.Originate) (*sipcore.Call, error) {
	ctx, cancel := context.WithTimeout(t.ctx, ringTimeout)
	defer cancel()
	return t.ep.Originate(ctx, o)
}

func (t *Town) hangup(call *sipcore.Call, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	call.Hangup(ctx, why)
}

// ringing is a desk phone's side of an incoming call (a recall, or a call
// the console connects to it).
func (t *Town) ringing(ctx context.Context, inv *sipcore.Invite, d *desk) {
	who := inv.From.Display
	if who == "" {
		who = inv.From.User
	}
	if d.answerAfter == 0 {
		inv.Ring()
		t.log.Info(fmt.Sprintf("%s's phone rings (%s): nobody at the desk", d.display, who))
		select {
		case <-ctx.Done():
			inv.Reject(487, "Request Terminated", "")
		case <-t.ctx.Done():
			inv.Reject(480, "Temporarily Unavailable", "the demo is stopping")
		}
		return
	}
	if !d.claim() {
		t.log.Info(fmt.Sprintf("%s's phone is busy: %s is refused", d.display, who))
		inv.Reject(486, "Busy Here", d.display+" is on another call")
		return
	}
	defer d.release()
	inv.Ring()
	t.log.Info(fmt.Sprintf("%s's phone rings (%s)", d.display, who))
	timer := time.NewTimer(t.scaled(d.answerAfter))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		inv.Reject(487, "Request Terminated", "")
		t.log.Info(fmt.Sprintf("%s's phone stopped ringing before anyone answered", d.display))
		return
	case <-t.ctx.Done():
		inv.Reject(480, "Temporarily Unavailable", "the demo is stopping")
		return
	case <-timer.C:
	}
	call, err := inv.Answer()
	if err != nil {
		t.log.Info(fmt.Sprintf("%s answered too late", d.display), "why", err)
		return
	}
	t.mu.Lock()
	if c := t.active[inv.From.User]; c != nil {
		c.talking.Store(true)
	}
	t.mu.Unlock()
	t.log.Info(fmt.Sprintf("%s answers: talking to %s", d.display, who))
	d.src.Add(call.Media())
	t.converse(d, call, who, d.talkFor)
}

func (d *desk) claim() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.busy {
		return false
	}
	d.busy = true
	return true
}

func (d *desk) release() {
	d.mu.Lock()
	d.busy = false
	d.mu.Unlock()
}

// handler is the town's side of its sipcore.Endpoint: INVITEs ring the
// desk phone their Request-URI names.
type handler struct{ t *Town }

func (h handler) HandleInvite(ctx context.Context, inv *sipcore.Invite) {
	t := h.t
	d := t.desks[inv.Target]
	if d == nil {
		inv.Reject(404, "Not Found", "no desk phone "+inv.Target+" in the demo")
		return
	}
	if !t.track() {
		inv.Reject(480, "Temporarily Unavailable", "the demo is stopping")
		return
	}
	defer t.wg.Done()
	t.ringing(ctx, inv, d)
}

func (handler) CallEnded(*sipcore.Call, sipcore.EndReason) {}

func (handler) ResolveSubscription(*sipcore.SubscribeRequest) (string, bool) { return "", false }

func (handler) SubscriptionsChanged(string) {}
