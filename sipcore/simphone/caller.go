package simphone

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/parkd/parkd/sipcore"
)

// script is the whole show; it returns when the town stops.
func (t *Town) script() {
	start := time.Now()
	at := func(offset time.Duration) bool { return t.sleepUntil(start.Add(t.scaled(offset))) }
	c := t.callers
	sales, support := t.desks["sales"], t.desks["support"]
	steps := []struct {
		at time.Duration
		do func()
	}{
		{1 * time.Second, func() { t.call(c[0], nil) }},
		{3 * time.Second, func() { t.call(c[1], sales) }},
		{5 * time.Second, func() { t.call(c[2], support) }},
		{8 * time.Second, func() { t.call(c[3], nil) }},
		{12 * time.Second, func() { t.pickUp(sales) }},
	}
	for _, s := range steps {
		if !at(s.at) {
			return
		}
		t.spawn(s.do)
	}
	if !at(steadyFrom) {
		return
	}
	next := 4 // Erin
	for turn := 0; ; turn++ {
		p, ok := t.nextCaller(&next)
		switch {
		case !ok:
			t.log.Info("every line is busy: nobody new calls this time", "callers", maxCallers)
		case turn%2 == 0:
			t.spawn(func() { t.call(p, nil) })
		default:
			parker := sales
			if turn%4 == 3 {
				parker = support // its recalls go on to the ring group
			}
			t.spawn(func() { t.call(p, parker) })
			if parker == sales {
				t.spawn(func() {
					if t.sleep(t.scaled(12 * time.Second)) {
						t.pickUp(sales)
					}
				})
			}
		}
		gap := 15*time.Second + rand.N(5*time.Second)
		if !t.sleep(t.scaled(gap)) {
			return
		}
	}
}

// nextCaller is the next person of the cast who is not on the line.
func (t *Town) nextCaller(next *int) (person, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.active) >= maxCallers {
		return person{}, false
	}
	for range t.callers {
		p := t.callers[*next%len(t.callers)]
		*next++
		if t.active[p.user] == nil {
			return p, true
		}
	}
	return person{}, false
}

// call puts a caller on the line: to the attendant when parker is nil,
// else transferred to park by parker (Referred-By names the parker, so
// the recall rings that desk phone). The caller holds on until parkd or
// whoever they talk to hangs up, or gives up after a while.
func (t *Town) call(p person, parker *desk) {
	c := &caller{person: p}
	if !t.join(c) {
		t.log.Info(p.display + " could not get through: every line is busy")
		return
	}
	defer t.leave(c)

	dial, patience := AttendantExtension, queuePatience
	o := sipcore.Originate{Targets: []string{t.dialURI(AttendantExtension)}, From: t.party(p)}
	if parker != nil {
		dial, patience = ParkExtension, parkPatience
		o.Targets = []string{t.dialURI(ParkExtension)}
		o.Headers = [][2]string{{"Referred-By", fmt.Sprintf("%q <%s>", parker.display, t.uri(parker.user))}}
		t.log.Info(fmt.Sprintf("%s transfers %s to park (%s)", parker.display, p.display, dial))
	} else {
		t.log.Info(fmt.Sprintf("%s calls the attendant (%s)", p.display, dial))
	}
	call, err := t.originate(o)
	if err != nil {
		if t.ctx.Err() == nil {
			t.log.Warn(fmt.Sprintf("%s's call to %s failed", p.display, dial), "error", err)
		}
		return
	}
	t.mu.Lock()
	t.stats.Calls++
	t.mu.Unlock()
	p.src.Add(call.Media())

	patienceTimer := time.NewTimer(t.scaled(patience))
	defer patienceTimer.Stop()
	for {
		select {
		case <-call.Done():
			t.log.Info(fmt.Sprintf("%s's call has ended", p.display))
			return
		case <-t.ctx.Done():
			t.hangup(call, "the demo is stopping")
			return
		case <-patienceTimer.C:
			if c.talking.Swap(false) {
				patienceTimer.Reset(t.scaled(patience)) // busy talking: check again later
				continue
			}
			t.log.Info(fmt.Sprintf("%s got tired of waiting and hangs up", p.display))
			t.hangup(call, "tired of waiting")
			return
		}
	}
}
