package mmsg

import (
	"sync"
	"testing"
	"time"

	"github.com/parkd/parkd/internal/kstamp"
)

// On a real socket, after a late read: a wait ends on the deadline and
// the look after it finds the datagram (a needed wake); once the hold has
// ended the reader waits on Go's poller alone; a wake that finds nothing
// with nothing else to run ends the hold; and a read waiting with the
// deadline set still ends with net.ErrClosed when the socket closes.
// Each datagram is sent from the wake itself or after the hold is gone,
// so no step depends on which of two timers fires first.
func TestReaderWakesOnItsDeadlineAfterReadingLate(t *testing.T) {
	conn := listenLoopback(t, "udp4", "127.0.0.1")
	kstamp.Enable(conn)
	r, err := NewReader(conn, 4, 64)
	if err != nil {
		t.Fatal(err)
	}
	r.SetLateWake(time.Millisecond)
	send := func(m string) {
		if _, err := conn.WriteTo([]byte(m), conn.LocalAddr()); err != nil {
			t.Error(err)
		}
	}
	read := func(want string) {
		t.Helper()
		b := make([]byte, 64)
		n, _, _, err := r.Read(b)
		if err != nil || string(b[:n]) != want {
			t.Fatalf("read %q, %v; want %q", b[:n], err, want)
		}
	}
	busy := func() bool { return true }
	idle := func() bool { return false }

	// The kernel turns arrival stamps on a moment after the first socket
	// asks (a deferred static key); until then a datagram is stamped
	// when it is read, and no read looks late.
	for try := 0; ; try++ {
		if try == 100 {
			t.Skip("the kernel does not stamp datagrams on arrival")
		}
		send("late")
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
	if !time.Now().Before(r.late.until) {
		t.Fatal("a late read did not set the deadline")
	}

	r.late.until = time.Now().Add(time.Hour) // no trial's end in this step
	r.late.othersRunnable = busy
	var once sync.Once
	r.late.onWake = func() { once.Do(func() { send("sent at the first wake") }) }
	read("sent at the first wake")
	if r.late.wakes == 0 || r.late.needed == 0 {
		t.Fatalf("%d wakes, %d needed: the wait did not end on the deadline", r.late.wakes, r.late.needed)
	}

	r.late.until = time.Now().Add(-time.Nanosecond) // the hold has ended
	woken := r.late.wakes
	time.AfterFunc(50*time.Millisecond, func() { send("after the hold ended") })
	read("after the hold ended")
	if r.late.wakes != woken {
		t.Fatalf("%d deadline wakes in a wait after the hold ended, want none", r.late.wakes-woken)
	}

	r.late.until, r.late.needed, r.late.needless = time.Now().Add(time.Hour), 0, 0
	r.late.othersRunnable = idle
	woken = r.late.wakes
	once = sync.Once{}
	r.late.onWake = func() {
		once.Do(func() { time.AfterFunc(50*time.Millisecond, func() { send("after a needless wake") }) })
	}
	read("after a needless wake")
	// The needless wake ended the hold; the deadline set before it may
	// still fire once. Kept, the hold would have woken some 50 times.
	if !r.late.until.IsZero() || r.late.wakes-woken > 2 {
		t.Fatalf("hold until %v after %d wakes that found nothing on an idle P, want it ended after the first", r.late.until, r.late.wakes-woken)
	}

	r.late.until = time.Now().Add(time.Hour)
	r.late.othersRunnable, r.late.onWake = busy, nil
	closingEndsRead(t, conn, r)
}
