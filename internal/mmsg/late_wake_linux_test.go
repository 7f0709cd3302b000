package mmsg

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/parkd/parkd/internal/kstamp"
)

// On a real socket: a reader that has read a datagram late wakes on its
// deadline while it waits, stops, and returns
// the next datagram all the same; once the hold has ended it waits on
// Go's poller alone; and it still ends with net.ErrClosed when the socket
// closes. (Whether a read is late is TestLateWakeArmsOnlyAfterALateRead's:
// on a shared machine even a read at rest can be.)
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
	// The trial's first wake finds nothing with nothing else to run, which
	// ends it (the deadline already set may fire once more); were the P
	// busy at each wake, the trial would run its course.
	if r.late.wakes < 1 || r.late.wakes > trialWakes+1 {
		t.Fatalf("%d deadline wakes in a 50 ms wait after a late read, want 1 to %d", r.late.wakes, trialWakes+1)
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
