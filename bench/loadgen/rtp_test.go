package main

import (
	"encoding/binary"
	"net"
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

func stamped(sent time.Time) []byte {
	pkt := make([]byte, 172)
	pkt[0] = 0x80
	copy(pkt[stampAt:], stampMagic[:])
	binary.BigEndian.PutUint64(pkt[stampAt+4:], uint64(sent.UnixNano()))
	return pkt
}

func TestStampOf(t *testing.T) {
	sent := time.Unix(1765000000, 123456789)
	moh := make([]byte, 172) // parkd's music: no stamp
	moh[0] = 0x80
	for _, tc := range []struct {
		name string
		pkt  []byte
		ok   bool
	}{
		{"the generator's packet", stamped(sent), true},
		{"music on hold", moh, false},
		{"too short for a stamp", stamped(sent)[:stampAt+8], false},
		{"empty", nil, false},
	} {
		got, ok := stampOf(tc.pkt)
		if ok != tc.ok || ok && !got.Equal(sent) {
			t.Errorf("%s: stampOf = %v, %v; want %v, %v", tc.name, got, ok, sent, tc.ok)
		}
	}
}

// A sampled call's socket times what reaches it by the stamp inside:
// the delay it records is the packet's age when the kernel queued it.
func TestSampledStreamTimesWhatItHears(t *testing.T) {
	delays := make(chan time.Duration, 4)
	p := rtpPool{relayed: func(d time.Duration) { delays <- d }}
	stop := make(chan struct{})
	defer close(stop)
	go p.run(stop, false)
	s, err := p.openSampled()
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.port}
	peer.WriteToUDP(make([]byte, 172), to) // unstamped (music): not timed
	peer.WriteToUDP(stamped(time.Now().Add(-40*time.Millisecond)), to)
	select {
	case d := <-delays:
		if d < 40*time.Millisecond || d > 2*time.Second {
			t.Fatalf("recorded %v for a packet sent 40 ms before it arrived", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("nothing recorded for a stamped packet")
	}
	select {
	case d := <-delays:
		t.Fatalf("a second delay (%v) recorded: the unstamped packet was timed", d)
	case <-time.After(50 * time.Millisecond):
	}
}
