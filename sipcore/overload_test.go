package sipcore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// invite sends an INVITE (no SDP) to user with its own Call-ID.
func (p *rawPeer) invite(to, user, callID string) {
	p.send(to, "",
		"INVITE sip:"+user+"@"+to+" SIP/2.0",
		p.via("ov-"+callID),
		"Max-Forwards: 70",
		"From: <sip:caller@"+p.addr.String()+">;tag=ov-"+callID,
		"To: <sip:"+user+"@"+to+">",
		"Call-ID: "+callID,
		"CSeq: 1 INVITE",
		"Contact: <sip:caller@"+p.addr.String()+">",
	)
}

// responsesFor gathers responses by Call-ID until quiet for d.
func (p *rawPeer) responsesFor(d time.Duration) map[string][]*sip.Response {
	got := map[string][]*sip.Response{}
	for {
		select {
		case m, ok := <-p.msgs:
			if !ok {
				return got
			}
			if res, isRes := m.(*sip.Response); isRes {
				id := res.CallID().Value()
				got[id] = append(got[id], res)
			}
		case <-time.After(d):
			return got
		}
	}
}

func codes(rs []*sip.Response) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r.StatusCode)
	}
	return out
}

// Past the bound of pending INVITEs, a new one is refused at once with 503
// and Retry-After; the ones in progress are answered as usual, and once
// they are, INVITEs are taken again. Past tryingAt, an INVITE gets 100
// Trying at once instead of after sipgo's 200 ms.
func TestOverloadShedsNewInvitesAndTriesAtOnce(t *testing.T) {
	ep, h, addr := newDoorEndpoint(t, nil)
	ep.invites.tryingAt.Store(1)
	ep.invites.maxPending.Store(3)
	peer := newRawPeer(t, "127.0.0.1")

	for i := 1; i <= 3; i++ {
		peer.invite(addr, "hold", fmt.Sprintf("held-%d", i))
		<-h.ringing // pending, ringing
	}
	peer.invite(addr, "701", "shed")
	got := peer.responsesFor(150 * time.Millisecond)

	shed := got["shed"]
	if len(shed) != 1 || shed[0].StatusCode != 503 {
		t.Fatalf("the INVITE past the bound got %v, want one 503", codes(shed))
	}
	if ra := shed[0].GetHeader("Retry-After"); ra == nil || ra.Value() != overloadRetry {
		t.Errorf("503 Retry-After %v, want %s", ra, overloadRetry)
	}
	// The first rang alone (sipgo's 100 would come after 200 ms); the
	// second and third got 100 Trying before their 180.
	want := map[string][]int{"held-1": {180}, "held-2": {100, 180}, "held-3": {100, 180}}
	for id, w := range want {
		if c := codes(got[id]); fmt.Sprint(c) != fmt.Sprint(w) {
			t.Errorf("%s got %v within 150 ms, want %v", id, c, w)
		}
	}

	close(h.release) // the pending ones are answered
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for range 3 {
		peer.response(ctx, 200, sip.INVITE)
	}
	peer.invite(addr, "701", "after")
	if res := peer.response(ctx, 200, sip.INVITE); res.CallID().Value() != "after" {
		t.Errorf("200 for %s, want the INVITE sent after the backlog cleared", res.CallID().Value())
	}
	if n := ep.invites.pending.Load(); n != 0 {
		t.Errorf("%d INVITEs still counted pending after all were answered", n)
	}
}
