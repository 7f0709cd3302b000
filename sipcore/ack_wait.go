package sipcore

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// ackWait is a 2xx waiting for its ACK: resent over UDP at T1, doubling
// to T2, until the ACK comes (RFC 3261 §13.3.1.4); without one after
// 64·T1 the dialog is ended with a BYE. It runs on two timers rather than
// a goroutine of its own: nearly every ACK comes within milliseconds,
// and a goroutine per answered call cost a busy one-core parkd two turns
// on the run queue (its start and its wake-up by the ACK) for nothing.
type ackWait struct {
	c    *Call
	cseq uint32

	mu   sync.Mutex
	over bool // acknowledged, given up, or its call ended
	res  *sip.Response
	// The 2xx is resent the way it went: conn and dst when the INVITE's
	// transaction was parkd's (invite_tx.go), data being res once
	// written; else sipgoConn, the sipgo transaction's socket, which
	// writes to res's destination. Never through sipgo's transport: it
	// looks the destination (the Via port) up among the addresses it
	// read from, and a phone that sends from another port is not there.
	conn      net.PacketConn
	dst       netip.AddrPort
	data      []byte
	sipgoConn sip.Connection
	interval  time.Duration
	t2        time.Duration
	resend    *time.Timer // nil over TCP, which delivers the 2xx itself
	deadline  *time.Timer
}

// expectAck registers the INVITE CSeq whose ACK we wait for; it must run
// before the 200 is sent, since the ACK can overtake our bookkeeping.
// Callers hold c.mu.
func (c *Call) expectAck(cseq uint32) *ackWait {
	w := &ackWait{c: c, cseq: cseq}
	c.pendingAck[cseq] = w
	return w
}

// retransmitUntilAck starts resending res, the 200 sent for w's INVITE
// through tx, unless its ACK came already.
func (c *Call) retransmitUntilAck(res *sip.Response, tx sip.ServerTransaction, w *ackWait) {
	t1 := time.Duration(c.ep.answerT1.Load())
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.over {
		return
	}
	w.res, w.interval, w.t2 = res, t1, time.Duration(c.ep.answerT2.Load())
	if own := ownTx(tx); own != nil {
		w.conn, w.dst = own.conn, own.dst
	} else if stx, ok := unwrapTx(tx).(*sip.ServerTx); ok {
		w.sipgoConn = stx.Connection()
	}
	if strings.EqualFold(c.transport, "udp") {
		w.resend = time.AfterFunc(t1, w.again)
	}
	w.deadline = time.AfterFunc(64*t1, w.giveUp)
}

// again resends the 200 and waits twice as long, up to T2, for the next.
func (w *ackWait) again() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.over {
		return
	}
	var err error
	if w.conn != nil {
		if w.data == nil {
			w.data = []byte(w.res.String())
		}
		_, err = w.conn.WriteTo(w.data, net.UDPAddrFromAddrPort(w.dst))
	} else if w.sipgoConn != nil {
		err = w.sipgoConn.WriteMsg(w.res)
	} else {
		err = w.c.ep.ua.TransportLayer().WriteMsg(w.res)
	}
	if err != nil {
		w.c.Logger().Debug("retransmitting 200 failed", "error", err)
	}
	w.interval = min(2*w.interval, w.t2)
	w.resend.Reset(w.interval)
}

// giveUp ends the call whose ACK never came.
func (w *ackWait) giveUp() {
	if !w.end() {
		return
	}
	c := w.c
	c.mu.Lock()
	if c.pendingAck[w.cseq] == w {
		delete(c.pendingAck, w.cseq)
	}
	c.mu.Unlock()
	c.Logger().Warn("no ACK for our 200: ending the call", "cseq", w.cseq)
	c.hangup(context.Background(), EndNoAck, CauseTimerExpiry, "no ACK")
}

// end stops the resending and the deadline; it reports whether w was
// still waiting.
func (w *ackWait) end() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.over {
		return false
	}
	w.over = true
	if w.resend != nil {
		w.resend.Stop()
	}
	if w.deadline != nil {
		w.deadline.Stop()
	}
	return true
}

// endAckWaitsLocked stops what still waits for an ACK: the call is
// ending. c.mu held (w.mu is taken inside, in that order everywhere).
func (c *Call) endAckWaitsLocked() {
	for cseq, w := range c.pendingAck {
		delete(c.pendingAck, cseq)
		w.end()
	}
}

// ackArrivedLocked takes the ACK of the 2xx to INVITE cseq: it stops that
// 2xx's resending and, for the INVITE that answered the call, confirms
// it. false when no 2xx waits for it (a copy, a reordered ACK, or the ACK
// of an error response). Callers hold c.mu.
func (c *Call) ackArrivedLocked(cseq uint32) bool {
	w, ok := c.pendingAck[cseq]
	if !ok {
		return false
	}
	delete(c.pendingAck, cseq)
	w.end()
	if cseq == c.inviteCSeq && !c.outbound {
		close(c.confirmed)
		c.releaseUnconfirmed()
	}
	return true
}
