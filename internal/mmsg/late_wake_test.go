package mmsg

import (
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// deadlines records what lateWake sets on the socket.
type deadlines struct{ set []time.Time }

func (d *deadlines) SetReadDeadline(t time.Time) error {
	d.set = append(d.set, t)
	return nil
}

// A late read keeps the deadline for lateHold when the deadline's wakes
// have mostly found input, for a trial when they have not shown either
// way, and not at all when they have mostly found nothing; a prompt read
// never sets it. It is cleared once, when the hold ends.
func TestLateWakeArmsOnlyAfterALateRead(t *testing.T) {
	const every = time.Millisecond
	const trial = trialWakes * every
	tests := []struct {
		name             string
		every            time.Duration
		age              time.Duration // of the oldest datagram read, when read
		needed, needless uint32        // deadline wakes counted before the read
		holdEnded        bool          // the hold has ended since the read
		wasArmed         bool
		busy             bool          // other goroutines wait for the P at the read
		wantHold         time.Duration // how long the read keeps the deadline
		wantCleared      bool          // the deadline is cleared before the next wait
	}{
		{name: "off", every: 0, age: time.Second},
		{name: "prompt read", every: every, age: every/2 - time.Microsecond},
		{name: "late read, nothing known: a trial", every: every, age: every / 2, wantHold: trial},
		{name: "very late read, a tie: a trial", every: every, age: 20 * time.Millisecond, needed: 3, needless: 3, wantHold: trial},
		{name: "late, wakes mostly needed", every: every, age: every, needed: 3, needless: 2, wantHold: lateHold},
		{name: "late, wakes mostly needless", every: every, age: every, needed: 2, needless: 3},
		{name: "late on a busy P: needed, a hold", every: every, age: every, busy: true, wantHold: lateHold},
		{name: "late on a busy P after a needless majority", every: every, age: every, needed: 1, needless: 3, busy: true},
		{name: "prompt on a busy P", every: every, age: every/2 - time.Microsecond, busy: true},
		{name: "hold ended", every: every, age: every, needed: 1, holdEnded: true, wasArmed: true, wantCleared: true},
		{name: "hold ended, already cleared", every: every, age: every, needed: 1, holdEnded: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			w := lateWake{every: tc.every, armed: tc.wasArmed, needed: tc.needed, needless: tc.needless, halveAt: now.Add(time.Hour)}
			w.othersRunnable = func() bool { return tc.busy }
			w.noteRead(now.Add(-tc.age), now)
			if got := w.until.Sub(now); !tc.holdEnded && (tc.wantHold == 0 && !w.until.IsZero() || tc.wantHold != 0 && got != tc.wantHold) {
				t.Fatalf("the read keeps the deadline for %v, want %v", got, tc.wantHold)
			}
			if tc.holdEnded {
				w.until = time.Now().Add(-time.Nanosecond)
			}
			var d deadlines
			before := time.Now()
			w.beforeWait(&d)
			wantSet := tc.wantHold != 0 || tc.wantCleared
			if len(d.set) != map[bool]int{true: 1}[wantSet] {
				t.Fatalf("deadlines set: %v, want one: %v", d.set, wantSet)
			}
			if !wantSet {
				return
			}
			switch got := d.set[0]; {
			case tc.wantCleared && !got.IsZero():
				t.Errorf("deadline %v, want it cleared", got)
			case !tc.wantCleared && (got.Before(before.Add(every)) || got.After(time.Now().Add(every))):
				t.Errorf("deadline %v, want %v after the call", got, every)
			}
			if w.armed == tc.wantCleared {
				t.Errorf("armed %v after setting %v", w.armed, d.set[0])
			}
		})
	}
}

// A deadline wake counts as needed when the look after it finds input, and
// as needless when it finds none and nothing else is runnable; other
// looks count nothing; the counts halve once per lateHold, so an old
// verdict fades.
func TestLateWakeCountsWhatEachWakeFound(t *testing.T) {
	now := time.Now()
	w := lateWake{every: time.Millisecond, armed: true, halveAt: now.Add(lateHold)}
	hold := func() { w.until = time.Now().Add(time.Hour) }
	wake := func() {
		t.Helper()
		if !w.woke(os.ErrDeadlineExceeded) {
			t.Fatal("the deadline was not taken as a wake")
		}
	}
	counts := func(needed, needless uint32) {
		t.Helper()
		if w.needed != needed || w.needless != needless {
			t.Fatalf("needed %d, needless %d; want %d and %d", w.needed, w.needless, needed, needless)
		}
	}
	hold()
	w.noteEmpty() // looks that no wake preceded
	w.noteRead(now, now)
	counts(0, 0)

	wake()
	w.noteRead(now, now)
	counts(1, 0)
	wake()
	w.noteEmpty() // the hold holds: 1 needed against 1 needless
	counts(1, 1)
	if w.until.IsZero() {
		t.Fatal("the hold ended on a tie")
	}
	wake()
	w.noteEmpty()
	counts(1, 2)
	if !w.until.IsZero() {
		t.Fatal("the hold went on after the needless wakes came to outnumber the needed")
	}
	wake() // the deadline set before the hold ended
	w.noteEmpty()
	counts(1, 2)

	w.noteRead(now.Add(-time.Second), now) // late, but the wakes were mostly needless
	if now.Before(w.until) {
		t.Fatal("a late read set the deadline although most wakes found nothing")
	}
	hold()
	w.othersRunnable = func() bool { return true }
	wake()
	w.noteEmpty() // found nothing, but the P was busy: the wake cost little
	counts(1, 2)
	w.othersRunnable = func() bool { return false }

	for range 2 * maxWakeCount {
		wake()
		w.noteRead(now, now)
	}
	counts(maxWakeCount, 2)
	w.needed, w.needless = 1, 2

	later := now.Add(lateHold)
	w.noteRead(later, later)
	counts(0, 1)
	w.needed, w.needless = 1000, 1000
	hours := later.Add(3 * time.Hour)
	w.noteRead(hours, hours)
	counts(0, 0)
	if want := uint64(5 + 2*maxWakeCount); w.wakes != want {
		t.Errorf("wakes %d, want %d", w.wakes, want)
	}
}

func TestLateWakeTakesOnlyItsOwnDeadline(t *testing.T) {
	tests := []struct {
		name  string
		armed bool
		err   error
		want  bool
	}{
		{"its deadline", true, os.ErrDeadlineExceeded, true},
		{"wrapped", true, &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, true},
		{"not armed: someone else's deadline", false, os.ErrDeadlineExceeded, false},
		{"closed", true, net.ErrClosed, false},
		{"no error", true, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := lateWake{every: time.Millisecond, armed: tc.armed}
			if got := w.woke(tc.err); got != tc.want {
				t.Errorf("woke(%v) = %v, want %v", tc.err, got, tc.want)
			}
			if want := map[bool]uint64{true: 1}[tc.want]; w.wakes != want {
				t.Errorf("wakes %d, want %d", w.wakes, want)
			}
		})
	}
}

// The runtime reports a goroutine waiting for the P: here one just
// started, which waits until the test goroutine blocks.
func TestSchedRunnableSeesAWaitingGoroutine(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	othersRunnable := schedRunnable()
	othersRunnable() // the first read sets runtime/metrics up, and allocates
	ran := make(chan struct{})
	go close(ran)
	if !othersRunnable() {
		t.Error("a started goroutine that has not run yet is not reported runnable")
	}
	<-ran
}
