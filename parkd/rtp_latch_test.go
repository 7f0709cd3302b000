package parkd_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/clienttest"
	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/siptest"
)

// intruder is a host that is not part of a call (127.0.0.2, while the
// phones are on 127.0.0.1) aiming RTP at one of parkd's ports.
type intruder struct {
	t     *testing.T
	conn  *net.UDPConn
	frame []byte // what it injects: a payload no phone or MOH ever sends
	heard atomic.Int64
	seq   uint16
}

func newIntruder(t *testing.T) *intruder {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skipf("cannot bind 127.0.0.2 (loopback beyond 127.0.0.1 missing): %v", err)
	}
	in := &intruder{t: t, conn: conn, frame: bytes.Repeat([]byte{0x5A, 0xA5}, 80)}
	go in.listen()
	t.Cleanup(func() { conn.Close() })
	return in
}

// listen counts everything parkd sends the intruder: there must be nothing.
func (in *intruder) listen() {
	buf := make([]byte, 2048)
	for {
		if _, err := in.conn.Read(buf); err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) {
				return
			}
			continue
		}
		in.heard.Add(1)
	}
}

// send injects n PCMU frames at to.
func (in *intruder) send(to netip.AddrPort, n int) {
	in.t.Helper()
	for range n {
		in.seq++
		pkt, _ := (&rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: in.seq, Timestamp: uint32(in.seq) * 160, SSRC: 0xBAD},
			Payload: in.frame,
		}).Marshal()
		if _, err := in.conn.WriteToUDPAddrPort(pkt, to); err != nil {
			in.t.Fatal(err)
		}
	}
}

// stream keeps injecting every 5 ms until the test ends.
func (in *intruder) stream(to netip.AddrPort) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	in.t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				in.seq++
				pkt, _ := (&rtp.Packet{
					Header:  rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: in.seq, Timestamp: uint32(in.seq) * 160, SSRC: 0xBAD},
					Payload: in.frame,
				}).Marshal()
				in.conn.WriteToUDPAddrPort(pkt, to)
			}
		}
	}()
}

// The hijack of issue 11: RTP from another IP, sent to a parked call's
// port before the caller's first packet and all along, takes nothing — the
// caller keeps its music, the intruder hears nothing — and after a
// retrieve its audio never reaches the retriever while the caller's does.
func TestRTPFromAnotherIPIsIgnored(t *testing.T) {
	d := startDaemon(t, nil)
	rejected0 := d.srv.Stats().RTPRejected
	in := newIntruder(t)
	parked := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	port := parked.RTP.Remote()

	in.send(port, 10) // before the caller's first packet
	clienttest.AssertMusic(t, parked)
	in.stream(port)
	parked.RTP.SendStream(ctxFor(t, 5*time.Second), make([]byte, 160), 10)
	parked.RTP.Drain()
	clienttest.AssertMusic(t, parked)

	retriever := d.dial(siptest.NewPhone(t, "bob"), "701", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventRetrieved, "701")
	clienttest.AssertAudio(t, parked, retriever)
	clienttest.AssertAudio(t, retriever, parked)

	assertHearsOnlyCaller(t, in, parked, retriever)
	if got := d.srv.Stats().RTPRejected - rejected0; got < 10 {
		t.Errorf("Stats().RTPRejected grew by %d, want at least the intruder's first 10 packets", got)
	}
}

// assertHearsOnlyCaller has the caller talk while the intruder keeps
// injecting: the listener hears the caller and never the intruder, and the
// intruder has heard nothing at all.
func assertHearsOnlyCaller(t *testing.T, in *intruder, caller, listener *siptest.Call) {
	t.Helper()
	voice := bytes.Repeat([]byte{0x33}, 160)
	caller.RTP.SendStream(ctxFor(t, 5*time.Second), voice, 25)
	heardCaller := 0
	deadline := time.Now().Add(700 * time.Millisecond)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		p, err := listener.RTP.Next(ctx)
		cancel()
		if err != nil {
			break
		}
		switch {
		case bytes.Equal(p.Payload, in.frame):
			t.Fatal("the intruder's audio reached the other leg of the bridge")
		case bytes.Equal(p.Payload, voice):
			heardCaller++
		}
	}
	if heardCaller < 5 {
		t.Errorf("heard %d of the caller's frames while the intruder sent, want at least 5", heardCaller)
	}
	if n := in.heard.Load(); n != 0 {
		t.Errorf("the intruder received %d packets from parkd", n)
	}
}

// A leg parkd places itself (here a retrieve to a phone) takes RTP from
// the answering phone's side only: an intruder aiming at that leg's port
// neither talks into the bridge nor hears it.
func TestRTPFromAnotherIPIsIgnoredOnCallsParkdPlaces(t *testing.T) {
	d := startDaemon(t, nil)
	in := newIntruder(t)
	parked := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	carol := siptest.NewPhone(t, "carol")
	t.Cleanup(d.shutdown) // before carol's phone closes, so parkd's BYE reaches it
	if _, err := d.srv.Retrieve(ctxFor(t, 5*time.Second), "701", parkd.RetrieveRequest{To: carol.URI()}); err != nil {
		t.Fatal(err)
	}
	inc, err := carol.Incoming(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	offer, err := sipcore.ParseOffer(inc.Request().Body())
	if err != nil {
		t.Fatal(err)
	}
	port := offer.Remote // parkd's port for carol's leg
	in.send(port, 10)    // before carol's first packet
	in.stream(port)
	answered, err := inc.Answer(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	d.waitEvent(parkd.EventRetrieved, "701")
	clienttest.AssertAudio(t, answered, parked)
	clienttest.AssertAudio(t, parked, answered)
	assertHearsOnlyCaller(t, in, answered, parked)
}

// rtp.latch: any keeps the old behaviour for trusted networks: the first
// packet from anywhere takes the music.
func TestRTPLatchAnyLatchesOnFirstSender(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) { c.RTP.Latch = parkd.LatchAny })
	in := newIntruder(t)
	parked := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{})
	d.waitEvent(parkd.EventParked, "701")
	in.send(parked.RTP.Remote(), 1)
	deadline := time.Now().Add(3 * time.Second)
	for in.heard.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("with rtp.latch: any the first sender did not get the music")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A caller behind NAT: its SDP names a private address (127.0.0.9 stands in
// for one; nothing listens there) while its RTP comes from the IP its SIP
// came from. rtp.latch: signalling (the default) follows it there and the
// caller hears the music; rtp.latch: sdp takes the SDP IP only, so its
// packets are dropped and the music keeps going to the SDP address.
func TestRTPLatchCallerBehindNAT(t *testing.T) {
	cases := []struct {
		latch      string
		hearsMusic bool
	}{
		{parkd.LatchSignalling, true},
		{parkd.LatchSDP, false},
	}
	for _, tc := range cases {
		t.Run(tc.latch, func(t *testing.T) {
			d := startDaemon(t, func(c *parkd.Config) { c.RTP.Latch = tc.latch })
			rejected0 := d.srv.Stats().RTPRejected
			natted := []byte("v=0\r\no=natted 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\nt=0 0\r\n" +
				"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n")
			call := d.dial(siptest.NewPhone(t, "alice"), "700", 200, siptest.CallOptions{SDP: natted})
			d.waitEvent(parkd.EventParked, "701")
			call.RTP.SendStream(ctxFor(t, 5*time.Second), make([]byte, 160), 25)
			if tc.hearsMusic {
				clienttest.AssertMusic(t, call)
				return
			}
			if !call.RTP.Silent(500 * time.Millisecond) {
				t.Fatal("rtp.latch: sdp latched on a source outside the SDP IP")
			}
			if d.srv.Stats().RTPRejected == rejected0 {
				t.Error("the caller's dropped packets were not counted")
			}
		})
	}
}
