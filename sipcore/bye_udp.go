package sipcore

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A BYE over UDP is sent as parkd's own non-INVITE client transaction,
// the NOTIFYs' (notify_tx.go): every call that parkd ends sends one, and
// sipgo's client transaction for it (its state machine, timers and
// goroutines, and a full parse of the 200 that ends it) costs 15-25 %
// more CPU and 40 more allocations per BYE (BenchmarkBye;
// docs/PERFORMANCE.md, thirteenth pass).
// Timer E resends it until a final response or Timer F (64·T1), as RFC
// 3261 §17.1.2.2 has it; the 200 is matched by its branch on the socket's
// read loop (notify_raw.go).

// byeTimeout is Timer F: how long a BYE is resent before the peer is
// taken for gone.
func (n *notifier) byeTimeout() time.Duration { return 64 * n.t1 }

// sendBye sends bye, an in-dialog BYE without a Via, to dest from parkd's
// UDP listener and waits for its final response. It returns the status,
// 0 when none came before Timer F, shutdown or ctx, or an error when the
// BYE could not be sent.
func (ep *Endpoint) sendBye(ctx context.Context, bye *sip.Request, dest netip.AddrPort) (int, error) {
	l, ok := ep.listenerFor("udp")
	conn, _ := l.closer.(*net.UDPConn)
	if !ok || conn == nil {
		return 0, errors.New("no UDP listener")
	}
	result := make(chan int, 1)
	tx := &udpTx{result: result, dest: dest, conn: conn}
	ep.notifier.register(tx)
	msg := byeBytes(bye, ep.viaHost(l), int(l.addr.Port()), tx.id)
	tx.mu.Lock() // a forged answer could end tx already
	tx.msg = msg
	tx.mu.Unlock()
	if _, err := conn.WriteToUDPAddrPort(msg, dest); err != nil {
		ep.notifier.take(tx.id)
		return 0, err
	}
	ep.notifier.arm(tx, ep.notifier.byeTimeout())
	select {
	case status := <-result:
		return status, nil
	case <-ctx.Done():
		if ep.notifier.take(tx.id) == nil {
			// An answer, Timer F or shutdown took it first: its status is
			// on its way.
			return <-result, nil
		}
		tx.release()
		return 0, ctx.Err()
	}
}

// byeBytes is bye on the wire: parkd's Via with the transaction's branch
// on top, Max-Forwards and an empty body, as sipgo's client would add.
func byeBytes(bye *sip.Request, host string, port int, id uint64) []byte {
	via := sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: host, Port: port}
	via.Params.Add("rport", "")
	via.Params.Add("branch", string(appendBranch(nil, id)))
	maxForwards := sip.MaxForwardsHeader(70)
	bye.PrependHeader(&via, &maxForwards)
	bye.SetBody(nil) // Content-Length: 0
	return []byte(bye.String())
}
