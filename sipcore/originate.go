package sipcore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// Originate is a call parkd places: a recall to the parker, a ring group
// rung at once, or a forward. The first target to answer wins; the others
// get CANCEL.
type Originate struct {
	Targets []string    // SIP URIs
	From    Party       // the identity the callee's phone shows
	Headers [][2]string // extra headers, e.g. Alert-Info, Subject
	Proxy   string      // outbound proxy URI; "" sends to each target directly
	Log     *slog.Logger

	// Replaces and ReferredBy become the Replaces (RFC 3891) and
	// Referred-By (RFC 3892) headers of every branch's INVITE: an attended
	// transfer to another phone takes over the dialog Replaces names there.
	Replaces   *Replaces
	ReferredBy *Party
}

// Attempt is how one target of an Originate ended.
type Attempt struct {
	Target string
	Status int    // the final SIP status; 0 when none came
	Reason string // the reason phrase, or what went wrong
}

func (a Attempt) String() string {
	if a.Status > 0 {
		return fmt.Sprintf("%s: %d %s", a.Target, a.Status, a.Reason)
	}
	return fmt.Sprintf("%s: %s", a.Target, a.Reason)
}

// OriginateError says why nobody answered.
type OriginateError struct {
	Attempts []Attempt
	// Canceled: ctx ended (the ring time ran out, or parkd gave up because
	// the call was retrieved) while targets were still ringing.
	Canceled bool
}

func (e *OriginateError) Error() string {
	parts := make([]string, len(e.Attempts))
	for i, a := range e.Attempts {
		parts[i] = a.String()
	}
	what := "no answer"
	if e.Canceled {
		what = "stopped ringing"
	}
	return what + " (" + strings.Join(parts, "; ") + ")"
}

// errDraining refuses new calls while the endpoint shuts down.
var errDraining = errors.New("sipcore: shutting down")

// Originate rings every target at once and returns the first to answer,
// already ACKed and with media running; the other branches are canceled
// (and hung up should they answer anyway). It returns an *OriginateError
// when nobody answers before ctx ends or every target refused. Once
// Shutdown began it refuses to ring anyone, and one ringing stops as if
// ctx had ended: Shutdown cancels every branch, whoever started it.
func (ep *Endpoint) Originate(ctx context.Context, o Originate) (*Call, error) {
	if o.Log == nil {
		o.Log = ep.log
	}
	if len(o.Targets) == 0 {
		return nil, errors.New("sipcore: originate: no target")
	}
	if ep.draining.Load() {
		return nil, errDraining
	}
	if err := o.checkTransferHeaders(); err != nil {
		return nil, err
	}
	stop := ep.inflight.stopped()
	fork := &fork{results: make(chan branchResult, len(o.Targets))}
	attempts := make([]Attempt, len(o.Targets))
	running := 0
	for i, target := range o.Targets {
		attempts[i].Target = target
		b, err := ep.startBranch(ctx, o, i, target, fork)
		if errors.Is(err, errDraining) {
			fork.cancelAll()
			return nil, err
		}
		if err != nil {
			o.Log.Warn("recall target unreachable", "target", target, "error", err)
			attempts[i].Reason = err.Error()
			continue
		}
		fork.branches = append(fork.branches, b)
		running++
	}
	for running > 0 {
		select {
		case r := <-fork.results:
			running--
			if r.call != nil {
				fork.cancelAll()
				return r.call, nil
			}
			attempts[r.index] = r.attempt
		case <-ctx.Done():
			return fork.giveUp(attempts)
		case <-stop:
			// parkd is shutting down, whether or not our caller remembered
			// to cancel ctx: Shutdown cancels the branches themselves.
			return fork.giveUp(attempts)
		}
	}
	return nil, &OriginateError{Attempts: attempts}
}

// giveUp stops ringing. A 200 that claimed the fork just before is still
// returned: its call is on its way and is the caller's to keep or hang up.
func (f *fork) giveUp(attempts []Attempt) (*Call, error) {
	if f.cancelAll() {
		for r := range f.results {
			if r.call != nil {
				return r.call, nil
			}
		}
	}
	for _, b := range f.branches {
		if attempts[b.index].Reason == "" && attempts[b.index].Status == 0 {
			attempts[b.index].Reason = "canceled"
		}
	}
	return nil, &OriginateError{Attempts: attempts, Canceled: true}
}

// fork is one Originate's set of branches; the first 200 claims it.
type fork struct {
	mu       sync.Mutex
	won      bool
	done     bool // Originate returned: no result is read any more
	branches []*branch
	results  chan branchResult
}

type branchResult struct {
	index   int
	call    *Call
	attempt Attempt
}

// claim makes b's answer the winner, unless another branch answered first
// or Originate has given up.
func (f *fork) claim() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.won || f.done {
		return false
	}
	f.won = true
	return true
}

// cancelAll stops every branch still ringing and reports whether one had
// already claimed the fork.
func (f *fork) cancelAll() (won bool) {
	f.mu.Lock()
	f.done = true
	won = f.won
	branches := f.branches
	f.mu.Unlock()
	for _, b := range branches {
		b.cancel()
	}
	return won
}

// checkTransferHeaders refuses a Replaces or Referred-By that would not
// stay one header: both may come from a REFER, that is from the network.
func (o Originate) checkTransferHeaders() error {
	if r := o.Replaces; r != nil {
		if r.CallID == "" || r.ToTag == "" || r.FromTag == "" {
			return fmt.Errorf("sipcore: originate: Replaces %q needs a call-id, to-tag and from-tag", r.String())
		}
		if hasHeaderBreak(r.String()) {
			return fmt.Errorf("sipcore: originate: Replaces %q holds control characters", r.String())
		}
	}
	if p := o.ReferredBy; p != nil {
		var uri sip.Uri
		if err := sip.ParseUri(p.URI, &uri); err != nil || strings.ContainsAny(p.URI, "<>\" ") {
			return fmt.Errorf("sipcore: originate: Referred-By URI %q is not a plain SIP URI", p.URI)
		}
		if hasHeaderBreak(p.String()) {
			return fmt.Errorf("sipcore: originate: Referred-By %q holds control characters", p.String())
		}
	}
	return nil
}

func hasHeaderBreak(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f })
}
