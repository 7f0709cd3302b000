package sipcore

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"golang.org/x/net/ipv4"

	"github.com/parkd/parkd/sipcore/presence"
)

// refuseSecond stands in for a kernel that sends the first message of a
// batch and stops (as sendmmsg does on a full send buffer: a count, no
// error), then refuses the next one outright (say a firewall's EPERM:
// nothing sent, an error), and then takes the rest.
type refuseSecond struct {
	real  batchWriter
	calls int
}

func (r *refuseSecond) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	r.calls++
	switch r.calls {
	case 1:
		return r.real.WriteBatch(ms[:1], flags)
	case 2:
		return -1, errors.New("sendmmsg: operation not permitted")
	}
	return r.real.WriteBatch(ms, flags)
}

// A fan-out's NOTIFYs go out in one batch. A short count sends the rest
// again; a message the kernel refuses ends that subscription alone, and
// those after it in the batch are still written.
func TestNotifyBatchRefusedMessageEndsOnlyItsSubscription(t *testing.T) {
	ep, _ := newStatsEndpoint(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	addr := ep.Addrs()[0].Addr
	ep.Publish("slot:701", EventDialog, presence.DialogInfoBody("sip:701@"+addr, nil))
	var peers []*rawPeer
	for n := range 3 {
		p := newRawPeer(t, "127.0.0.1")
		p.answer(addr, subscribeRaw(ctx, t, ep, p, n), 200)
		peers = append(peers, p)
	}
	eventually(t, "the first NOTIFYs' answers", func() bool {
		ep.notifier.mu.Lock()
		defer ep.notifier.mu.Unlock()
		return len(ep.notifier.byID) == 0
	})
	l, _ := ep.listenerFor("udp")
	conn := l.closer.(*net.UDPConn)
	stub := &refuseSecond{real: ipv4.NewPacketConn(conn)}
	ep.notifier.batchConn.mu.Lock()
	ep.notifier.batchConn.conn, ep.notifier.batchConn.w = conn, stub
	ep.notifier.batchConn.mu.Unlock()

	ep.Publish("slot:701", EventDialog, parked(addr))
	got := 0
	for _, p := range peers {
		select {
		case m := <-p.msgs:
			req, ok := m.(*sip.Request)
			if !ok || req.Method != sip.NOTIFY {
				t.Fatalf("%s got %v, want the NOTIFY", p.addr, m)
			}
			if info, err := presence.ParseDialogInfo(req.Body()); err != nil || len(info.Dialogs) != 1 {
				t.Errorf("%s: NOTIFY without the parked call: %v", p.addr, err)
			}
			p.answer(addr, req, 200)
			got++
		case <-time.After(time.Second):
		}
	}
	if got != 2 || stub.calls != 3 {
		t.Errorf("%d of 3 watchers got the NOTIFY in %d sendmmsg calls, want 2 in 3", got, stub.calls)
	}
	eventually(t, "the refused subscription to end", func() bool { return ep.Subscriptions() == 2 })
	if st := ep.Stats(); st.NotifiesFailed != 1 {
		t.Errorf("NotifiesFailed %d, want 1", st.NotifiesFailed)
	}
}
