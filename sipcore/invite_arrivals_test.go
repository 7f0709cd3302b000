package sipcore

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// An INVITE that waited past MaxInviteWait between its read and its
// handler gets 503 with Retry-After before any work; one on time is
// answered as usual. The wait is what the read filter noted: here an
// INVITE whose read is made to look 2 s old.
func TestLateInviteShedWith503(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")

	ep.arrivals.note([]byte("z9hG4bKlate1"), time.Now().Add(-2*time.Second))
	p.invite(addr, "up", "late-1", "late1")
	res := p.response(ctx, 503, sip.INVITE)
	if ra := res.GetHeader("Retry-After"); ra == nil || ra.Value() != "2" {
		t.Errorf("503 without Retry-After: 2:\n%s", res)
	}
	if w := res.GetHeader("Warning"); w == nil || !strings.Contains(w.Value(), "falling behind") {
		t.Errorf("503 without the overload Warning:\n%s", res)
	}
	if st := ep.Stats(); st.LateShed != 1 || st.OverloadShed != 0 {
		t.Errorf("LateShed %d OverloadShed %d, want 1 and 0", st.LateShed, st.OverloadShed)
	}

	p.invite(addr, "up", "ontime-1", "ontime1")
	p.response(ctx, 200, sip.INVITE)
	receive(t, h.calls, "the answered call")
	if _, left := ep.arrivals.take("z9hG4bKontime1"); left {
		t.Error("the handled INVITE's arrival is still remembered")
	}
}

// The wait counts from when the kernel received the INVITE, not from
// when parkd read it: under overload the queue is the socket's. Here the
// INVITE sits in the socket while the endpoint is not yet reading, past
// the bound; the one sent after reading starts is answered.
func TestInviteQueuedInTheSocketIsShed(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, func(c *Config) {
		c.DeferServing = true
		c.MaxInviteWait = 300 * time.Millisecond
	})
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	// The first socket on the machine to ask for receive timestamps gets
	// them from a kernel work queue, a moment after it asked.
	time.Sleep(50 * time.Millisecond)
	p.invite(addr, "up", "queued-1", "queued1")
	time.Sleep(600 * time.Millisecond)
	ep.Serve()
	p.response(ctx, 503, sip.INVITE)
	p.invite(addr, "up", "fresh-2", "fresh2")
	p.response(ctx, 200, sip.INVITE)
	receive(t, h.calls, "the answered call")
	if st := ep.Stats(); st.LateShed != 1 {
		t.Errorf("LateShed %d, want 1", st.LateShed)
	}
}

// The read filter notes every INVITE's arrival: with a bound no INVITE
// can meet, a fresh one is shed.
func TestInviteArrivalNotedAtRead(t *testing.T) {
	ep, _, addr := newDoorEndpoint(t, func(c *Config) { c.MaxInviteWait = time.Nanosecond })
	ctx := testCtx(t)
	p := newRawPeer(t, "127.0.0.1")
	p.invite(addr, "up", "fresh-1", "fresh1")
	p.response(ctx, 503, sip.INVITE)
	if st := ep.Stats(); st.LateShed != 1 {
		t.Errorf("LateShed %d, want 1", st.LateShed)
	}
}

// Retransmissions keep the first read; the table forgets everything
// rather than grow past its bound, and a branch too long to be honest is
// not kept at all.
func TestInviteArrivalsKeepFirstAndStayBounded(t *testing.T) {
	var a inviteArrivals
	first := time.Now().Add(-time.Minute)
	a.note([]byte("b1"), first)
	a.note([]byte("b1"), time.Now())
	if got, ok := a.take("b1"); !ok || !got.Equal(first) {
		t.Errorf("take(b1) = %v %v, want the first read %v", got, ok, first)
	}
	for i := range maxInviteArrivals + 10 {
		a.note([]byte(strconv.Itoa(i)), time.Now())
	}
	if n := len(a.at); n > maxInviteArrivals {
		t.Errorf("%d arrivals remembered, bound %d", n, maxInviteArrivals)
	}
	huge := strings.Repeat("z", maxNotedBranch+1)
	a.note([]byte(huge), first)
	if _, ok := a.take(huge); ok {
		t.Errorf("a %d-byte branch was noted; the bound is %d", len(huge), maxNotedBranch)
	}
}
