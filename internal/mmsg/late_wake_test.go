package mmsg

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/parkd/parkd/internal/kstamp"
)

// deadlines records what lateWake sets on the socket.
type deadlines struct{ set []time.Time }

func (d *deadlines) SetReadDeadline(t time.Time) error {
	d.set = append(d.set, t)
	return nil
}

// The deadline is set only after a late read and only while the hold
// lasts; it is cleared once, when the hold ends; and only its own
// deadline is taken as a wake.
func TestLateWakeArmsOnlyAfterALateRead(t *testing.T) {
	const every = time.Millisecond
	now := time.Now()
	tests := []struct {
		name        string
		every       time.Duration
		age         time.Duration // of the oldest datagram read, when read
		past        bool          // the hold has ended since
		wasArmed    bool
		wantSet     int  // deadlines set before the next wait
		wantCleared bool // the one set is the zero time
	}{
		{name: "off", every: 0, age: time.Second},
		{name: "prompt read", every: every, age: every/2 - time.Microsecond},
		{name: "late read", every: every, age: every / 2, wantSet: 1},
		{name: "very late read", every: every, age: 20 * time.Millisecond, wantSet: 1},
		{name: "hold ended", every: every, age: every, past: true, wasArmed: true, wantSet: 1, wantCleared: true},
		{name: "hold ended, already cleared", every: every, age: every, past: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := lateWake{every: tc.every, armed: tc.wasArmed}
			w.noteRead(now.Add(-tc.age), now)
			if tc.past {
				w.until = time.Now().Add(-time.Nanosecond)
			}
			var d deadlines
			before := time.Now()
			w.beforeWait(&d)
			if len(d.set) != tc.wantSet {
				t.Fatalf("deadlines set: %v, want %d", d.set, tc.wantSet)
			}
			if tc.wantSet == 0 {
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

// On a real socket: a reader that has read a datagram late wakes on its
// deadline while it waits, and returns the next datagram all the same;
// once the hold has ended it waits on Go's poller alone; and it still
// ends with net.ErrClosed when the socket closes. (Whether a read is late
// is TestLateWakeArmsOnlyAfterALateRead's: on a shared machine even a
// read at rest can be.)
func TestReaderWakesOnItsDeadlineAfterReadingLate(t *testing.T) {
	conn := listenLoopback(t, "udp4", "127.0.0.1")
	kstamp.Enable(conn)
	r, err := NewReader(conn, 4, 64)
	if err != nil {
		t.Fatal(err)
	}
	r.SetLateWake(time.Millisecond)
	send := func(m string, after time.Duration) {
		time.AfterFunc(after, func() { conn.WriteTo([]byte(m), conn.LocalAddr()) })
	}
	read := func(want string) {
		t.Helper()
		b := make([]byte, 64)
		n, _, _, err := r.Read(b)
		if err != nil || string(b[:n]) != want {
			t.Fatalf("read %q, %v; want %q", b[:n], err, want)
		}
	}

	// The kernel turns arrival stamps on a moment after the first socket
	// asks (a deferred static key); until then a datagram is stamped
	// when it is read, and no read looks late.
	for try := 0; ; try++ {
		if try == 100 {
			t.Skip("the kernel does not stamp datagrams on arrival")
		}
		if _, err := conn.WriteTo([]byte("late"), conn.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		b := make([]byte, 64)
		n, _, at, err := r.Read(b)
		if err != nil || string(b[:n]) != "late" {
			t.Fatalf("read %q, %v; want %q", b[:n], err, "late")
		}
		if time.Since(at) >= 5*time.Millisecond {
			break
		}
	}
	send("after a wait once late", 50*time.Millisecond)
	read("after a wait once late")
	if r.late.wakes < 2 {
		t.Fatalf("%d deadline wakes in a 50 ms wait after a late read, want several", r.late.wakes)
	}

	r.late.until = time.Now().Add(-time.Nanosecond) // the hold has ended
	woken := r.late.wakes
	send("after a wait once the hold ended", 50*time.Millisecond)
	read("after a wait once the hold ended")
	if r.late.wakes != woken {
		t.Fatalf("%d deadline wakes in a wait after the hold ended, want none", r.late.wakes-woken)
	}

	r.late.until = time.Now().Add(time.Hour)
	done := make(chan error, 1)
	go func() {
		_, _, _, err := r.Read(make([]byte, 64))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	conn.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("read ended with %v, want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the read did not end when the socket closed")
	}
}
