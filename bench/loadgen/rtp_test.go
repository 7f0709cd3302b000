package main

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A closed stream's socket is closed at the next tick, whether or not the
// generator sends RTP.
func TestClosedStreamsLetTheirSocketsGo(t *testing.T) {
	for _, send := range []bool{true, false} {
		var p rtpPool
		stop := make(chan struct{})
		go p.run(stop, send)
		var fds []int
		for range 20 {
			s, err := p.open()
			if err != nil {
				t.Fatal(err)
			}
			fds = append(fds, s.fd)
			s.close()
		}
		deadline := time.Now().Add(2 * time.Second)
		for _, fd := range fds {
			for {
				if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == unix.EBADF {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("send=%v: fd %d still open 2 s after its stream closed", send, fd)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		close(stop)
	}
}
