package tui

import (
	"context"
	"errors"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/parkd/parkd/parkd"
)

// The feed is the console's one connection to the daemon's state: a
// goroutine that takes a snapshot, subscribes after it, and hands the
// model coalesced batches of events. It never touches the model; it only
// sends messages, which a tea.Cmd (listen) picks up one at a time, so the
// same code runs under Run and under teatest.
//
// Coalescing: batches go to the model at most once per batchWindow. An
// event after a quiet spell goes at once (a lone park shows without
// waiting); one that follows a batch closer than that waits out the rest
// of the window with everything that arrives meanwhile (or until
// batchMax), as one message and one redraw. While the model is still busy with the last
// batch the feed keeps reading into the next one, so a burst never backs
// up into the daemon (which cuts off a reader that falls behind).
const (
	batchWindow = 50 * time.Millisecond
	batchMax    = 256
	// maxPending is how many events may wait for a stalled screen before
	// the feed drops them and takes a fresh snapshot instead.
	maxPending = 8192
	// callTimeout bounds every request the console makes, so that nothing
	// hangs on a daemon that accepts connections and never answers.
	callTimeout = 5 * time.Second
	minBackoff  = 250 * time.Millisecond
	maxBackoff  = 5 * time.Second
)

// snapshotMsg is the daemon's whole state, taken on (re)connect and after
// a resync; the model replaces its copy with it.
type snapshotMsg struct {
	status parkd.Status
	lots   []parkd.LotView
	slots  []parkd.SlotView
	queue  []parkd.CallView
	// resync says why it was taken when it was not a (re)connect.
	resync string
}

// eventsMsg is one coalesced batch of events, oldest first.
type eventsMsg []parkd.Event

// downMsg says the daemon cannot be reached; the feed retries after wait.
type downMsg struct {
	err  error
	wait time.Duration
}

type feed struct {
	c   parkd.Client
	out chan tea.Msg

	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once

	// Knobs, fixed in tests.
	window             time.Duration
	minWait, maxWait   time.Duration
	batchMax, maxQueue int
}

func newFeed(c parkd.Client) *feed {
	ctx, cancel := context.WithCancel(context.Background())
	return &feed{c: c, out: make(chan tea.Msg), ctx: ctx, cancel: cancel,
		window: batchWindow, minWait: minBackoff, maxWait: maxBackoff, batchMax: batchMax, maxQueue: maxPending}
}

// start runs the feed goroutine once, however often Init is called.
func (f *feed) start() tea.Cmd {
	return func() tea.Msg {
		f.once.Do(func() { go f.run() })
		return nil
	}
}

// stop ends the feed and its subscription.
func (f *feed) stop() { f.cancel() }

// listen waits for the feed's next message. The model calls it again
// after each one, so exactly one listen is outstanding.
func (f *feed) listen() tea.Cmd {
	return func() tea.Msg {
		select {
		case m := <-f.out:
			return m
		case <-f.ctx.Done():
			return nil
		}
	}
}

func (f *feed) send(m tea.Msg) bool {
	select {
	case f.out <- m:
		return true
	case <-f.ctx.Done():
		return false
	}
}

// run connects, pumps events, and reconnects with backoff until stopped.
func (f *feed) run() {
	wait := f.minWait
	why := ""
	for f.ctx.Err() == nil {
		snap, ch, err := f.connect()
		if err != nil {
			if f.ctx.Err() != nil {
				return
			}
			if !f.send(downMsg{err: err, wait: wait}) || !f.sleep(wait) {
				return
			}
			wait = min(wait*2, f.maxWait)
			continue
		}
		wait = f.minWait
		snap.resync = why
		if !f.send(snap) {
			return
		}
		resync, reason := f.pump(ch)
		if f.ctx.Err() != nil {
			return
		}
		if resync {
			why = reason // straight to a fresh snapshot, still connected
			continue
		}
		why = ""
		if !f.send(downMsg{err: errors.New("the event stream ended"), wait: wait}) || !f.sleep(wait) {
			return
		}
		wait = min(wait*2, f.maxWait)
	}
}

func (f *feed) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-f.ctx.Done():
		return false
	}
}

// connect takes a snapshot and subscribes to the events after it. Events
// between the snapshot's reads are replayed by the subscription; applying
// them twice is harmless (they carry whole states, not deltas).
func (f *feed) connect() (snapshotMsg, <-chan parkd.Event, error) {
	ctx, cancel := context.WithTimeout(f.ctx, callTimeout)
	defer cancel()
	var s snapshotMsg
	var err error
	if s.status, err = f.c.Status(ctx); err != nil {
		return s, nil, err
	}
	if s.lots, err = f.c.Lots(ctx); err != nil {
		return s, nil, err
	}
	if s.slots, err = f.c.Slots(ctx, parkd.SlotFilter{}); err != nil {
		return s, nil, err
	}
	if s.queue, err = f.c.Calls(ctx, parkd.CallFilter{State: parkd.CallQueued}); err != nil {
		return s, nil, err
	}
	// The stream outlives the snapshot's timeout: it runs on f.ctx.
	ch, err := f.c.Subscribe(f.ctx, s.status.LastEvent)
	return s, ch, err
}

// pump coalesces ch into batches until it closes (false) or the console
// must take a fresh snapshot (true, and why).
func (f *feed) pump(ch <-chan parkd.Event) (resync bool, why string) {
	var pending []parkd.Event
	var timer *time.Timer
	var due <-chan time.Time
	var lastSent time.Time
	ready := false
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var out chan<- tea.Msg
		if ready {
			out = f.out
		}
		select {
		case <-f.ctx.Done():
			return false, ""
		case ev, ok := <-ch:
			if !ok {
				if len(pending) > 0 {
					f.send(eventsMsg(pending))
				}
				return false, ""
			}
			if why, ok := resyncKinds[ev.Kind]; ok {
				if ev.Kind != parkd.EventResync {
					pending = append(pending, ev) // for the log; the snapshot shows its effect
				}
				if len(pending) > 0 {
					f.send(eventsMsg(pending))
				}
				return true, why
			}
			pending = append(pending, ev)
			switch {
			case len(pending) > f.maxQueue:
				return true, "the screen fell behind the events"
			case len(pending) >= f.batchMax:
				ready = true
			case due == nil && !ready:
				wait := f.window - time.Since(lastSent)
				if wait <= 0 {
					ready = true
					break
				}
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				due = timer.C
			}
		case <-due:
			due, ready = nil, true
		case out <- eventsMsg(pending):
			pending, ready, lastSent = nil, false, time.Now()
			if due != nil {
				timer.Stop()
				due = nil
			}
		}
	}
}

// listenLogs waits for daemon log lines and hands over all that are
// already waiting at once, for the same reason events are coalesced.
func listenLogs(ctx context.Context, ch <-chan string) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		var lines []string
		select {
		case l, ok := <-ch:
			if !ok {
				return logsClosedMsg{}
			}
			lines = append(lines, l)
		case <-ctx.Done():
			return nil
		}
		for len(lines) < batchMax {
			select {
			case l, ok := <-ch:
				if !ok {
					return logLinesMsg(lines)
				}
				lines = append(lines, l)
			default:
				return logLinesMsg(lines)
			}
		}
		return logLinesMsg(lines)
	}
}

type logLinesMsg []string
type logsClosedMsg struct{}

// resyncKinds are the events after which the board takes a snapshot:
// the daemon says the view is stale, or a reload added, moved or removed
// lots and slots.
var resyncKinds = map[parkd.EventKind]string{
	parkd.EventResync:   "the daemon asked for a resync",
	parkd.EventReloaded: "the config was reloaded",
	parkd.EventRemoved:  "a retired slot was removed",
}
