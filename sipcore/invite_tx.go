package sipcore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A new INVITE over UDP gets a server transaction of parkd's own (RFC
// 3261 §17.2.1, with RFC 6026's Accepted state kept by accepted.go).
// Through sipgo each INVITE cost a goroutine of sipgo's that waited for
// the handler, a transaction with a 10 s context and its timer, a timer
// for a 100 parkd never lets it send (trying.go), a map entry under
// sipgo's lock, its state machine for every response, and a goroutine
// for Timer L when the 2xx left: the two INVITEs of a park and its
// retrieve were what remained of sipgo's cost in a pair (docs/
// PERFORMANCE.md, twenty-sixth pass). This one is a lock, a few fields
// and, only after a final answer other than 2xx, Timers G and H.
//
// The read filter starts it (invite_tx_gate.go) for an INVITE outside a
// dialog with an RFC 3261 branch, and hands the INVITE to the same
// handlers sipgo would have called, on the read loop (inline_invite.go)
// or the handler pool. Copies of the INVITE, its CANCEL and the ACK of a
// final error find it by the branch (and Call-ID, From tag, CSeq number
// and sent-by: answeredKeys), and are answered here: in the read
// filter, or at the CANCEL and ACK handlers when a Via folded over lines
// hid the branch from the byte scan. Re-INVITEs, INVITEs over TCP and
// INVITEs with an RFC 2543 branch still go through sipgo.

// inviteTxState is where an inviteTx is in RFC 3261 Figure 7.
type inviteTxState uint8

const (
	txProceeding inviteTxState = iota // no final answer yet
	txCompleted                       // a final error sent, resent until its ACK
	txConfirmed                       // its ACK came: copies of the ACK are absorbed for T4
	txTerminated
)

// errAnsweredAlready is Respond's error for a second final answer.
var errAnsweredAlready = errors.New("sipcore: the INVITE transaction has its final answer")

// inviteTx implements sip.ServerTransaction for one INVITE.
type inviteTx struct {
	ep        *Endpoint
	req       *sip.Request
	key, full uint64 // answeredKeys of req: the table's key, and the match
	conn      net.PacketConn
	dst       netip.AddrPort // where every response goes (gated.destination)
	done      chan struct{}

	cancelExemptions atomic.Int32 // CANCELs let through a rate limit (cancelsRinging)

	mu       sync.Mutex
	state    inviteTxState
	err      error
	last     []byte // what a copy of the INVITE gets: the last provisional, then the final
	resend   *time.Timer
	interval time.Duration // Timer G's next wait
	expire   *time.Timer   // Timer H while Completed, Timer I while Confirmed
	// Callbacks: an INVITE's handlers register two of each.
	onCancel    []sip.FnTxCancel
	onTerminate []sip.FnTxTerminate
	cancelBuf   [2]sip.FnTxCancel
	termBuf     [2]sip.FnTxTerminate
}

func newInviteTx(ep *Endpoint, req *sip.Request, key, full uint64, conn net.PacketConn, dst netip.AddrPort) *inviteTx {
	t := &inviteTx{ep: ep, req: req, key: key, full: full, conn: conn, dst: dst, done: make(chan struct{})}
	t.onCancel, t.onTerminate = t.cancelBuf[:0], t.termBuf[:0]
	return t
}

// Respond sends res, and keeps it for copies of the INVITE. A 2xx ends
// the transaction as it leaves (accepted.go); a final error is resent
// until its ACK (Timer G) or for 64*T1 (Timer H). After a CANCEL it sends
// nothing and returns sip.ErrTransactionCanceled, as sipgo's does.
func (t *inviteTx) Respond(res *sip.Response) error {
	wire := wireOf(res)
	defer putWire(wire)
	data := wire.Bytes() // kept only as a copy
	t.mu.Lock()
	switch t.state {
	case txProceeding:
	case txTerminated:
		err := t.err
		t.mu.Unlock()
		return err
	default:
		err := t.err
		t.mu.Unlock()
		if errors.Is(err, sip.ErrTransactionCanceled) {
			return err
		}
		return errAnsweredAlready
	}
	switch {
	case res.StatusCode < 200:
		if err := t.send(data); err != nil {
			return t.failLocked(err)
		}
		t.last = bytes.Clone(data)
		t.mu.Unlock()
		return nil
	case res.StatusCode < 300:
		// Ended before it leaves: its ACK, which may come back at once,
		// must not find a transaction that is still proceeding.
		t.endLocked(sip.ErrTransactionTerminated)
		t.mu.Unlock()
		err := t.send(data)
		t.terminated()
		if err != nil {
			return fmt.Errorf("%w. %w", err, sip.ErrTransactionTransport)
		}
		return nil
	}
	if err := t.send(data); err != nil {
		return t.failLocked(err)
	}
	t.completeLocked(bytes.Clone(data))
	t.mu.Unlock()
	return nil
}

// failLocked ends the transaction after a failed send, as sipgo's does
// (a transport error), and unlocks.
func (t *inviteTx) failLocked(err error) error {
	err = fmt.Errorf("%w. %w", err, sip.ErrTransactionTransport)
	t.endLocked(err)
	t.mu.Unlock()
	t.terminated()
	return err
}

// completeLocked enters Completed with final as the answer to resend.
func (t *inviteTx) completeLocked(final []byte) {
	t.state, t.last = txCompleted, final
	t1 := time.Duration(t.ep.answerT1.Load())
	t.interval = t1
	t.resend = time.AfterFunc(t1, t.timerG)
	t.expire = time.AfterFunc(64*t1, t.timerH)
}

// timerG resends the final error, waiting twice as long each time up to T2.
func (t *inviteTx) timerG() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state != txCompleted {
		return
	}
	t.send(t.last)
	t.interval = min(2*t.interval, time.Duration(t.ep.answerT2.Load()))
	t.resend.Reset(t.interval)
}

// timerH gives up waiting for the ACK (Timer H), or ends Confirmed (Timer I).
func (t *inviteTx) timerH() { t.end(sip.ErrTransactionTerminated) }

// copied answers a retransmission of the INVITE with the last response:
// none, while no provisional was sent (RFC 3261 §17.2.1).
func (t *inviteTx) copied() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if (t.state == txProceeding || t.state == txCompleted) && t.last != nil {
		t.send(t.last)
	}
}

// acked is the ACK of the final error: no more resends, and copies of
// the ACK are absorbed for T4 (Timer I). An ACK while proceeding is no
// ACK of this transaction's (a 2xx's never matches it): false.
func (t *inviteTx) acked() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch t.state {
	case txCompleted:
		t.state = txConfirmed
		t.resend.Stop()
		t.expire.Reset(sip.Timer_I)
		return true
	case txConfirmed:
		return true
	}
	return false
}

// canceled is a CANCEL of this INVITE (RFC 3261 §9.2): 200 for it, and
// while no final answer was sent, 487 for the INVITE and the
// transaction's OnCancel callbacks. reply sends the CANCEL's 200 and
// counts it; its caller counts the CANCEL, as only it knows whether a
// handler did already.
func (t *inviteTx) canceled(cancel *sip.Request, reply func(*sip.Response)) {
	ok := sip.NewResponseFromRequest(cancel, 200, "OK", nil)
	ok.SipVersion = "SIP/2.0"
	t.mu.Lock()
	if t.state != txProceeding {
		t.mu.Unlock()
		reply(ok) // a final answer went first: the CANCEL changes nothing
		return
	}
	// sipgo's 487, built from the INVITE alone (cancel_race.go)
	res := sip.NewResponseFromRequest(t.req, sip.StatusRequestTerminated, "Request Terminated", nil)
	res.SipVersion = "SIP/2.0"
	t.err = sip.ErrTransactionCanceled
	// The CANCEL's 200 first: its sender stops resending at once.
	reply(ok)
	final := []byte(res.String())
	finalSent := t.send(final) == nil
	t.completeLocked(final)
	// Counted here, if sent: the INVITE's handler, which may not have
	// started yet, has no callback that would count it.
	if finalSent {
		t.ep.stats.response(sip.INVITE, sip.StatusRequestTerminated)
	}
	fns := t.onCancel
	t.onCancel = nil
	t.mu.Unlock()
	for _, f := range fns {
		f(cancel)
	}
}

// proceeding reports whether the INVITE has no final answer yet.
func (t *inviteTx) proceeding() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state == txProceeding
}

// handlerReturned is what sipgo does once an INVITE's handler returns
// (TerminateGracefully): a transaction still without a final answer ends.
func (t *inviteTx) handlerReturned() {
	if t.proceeding() {
		t.Terminate()
	}
}

// ownTx is the inviteTx under tx; nil when tx is sipgo's.
func ownTx(tx sip.ServerTransaction) *inviteTx {
	t, _ := unwrapTx(tx).(*inviteTx)
	return t
}

// unwrapTx is the transaction under parkd's wrappers (trying.go, gate.go).
func unwrapTx(tx sip.ServerTransaction) sip.ServerTransaction {
	for {
		switch t := tx.(type) {
		case *tryingTx:
			tx = t.ServerTransaction
		case *refusalTx:
			tx = t.ServerTransaction
		default:
			return tx
		}
	}
}

func (t *inviteTx) send(data []byte) error {
	_, err := t.conn.WriteTo(data, net.UDPAddrFromAddrPort(t.dst))
	return err
}

// endLocked enters Terminated and forgets the transaction; false if it
// had ended. Call terminated once unlocked.
func (t *inviteTx) endLocked(err error) bool {
	if t.state == txTerminated {
		return false
	}
	t.state = txTerminated
	if t.err == nil {
		t.err = err
	}
	if t.resend != nil {
		t.resend.Stop()
		t.expire.Stop()
	}
	close(t.done)
	t.ep.inviteTxs.remove(t)
	return true
}

// terminated calls the OnTerminate callbacks, once, after endLocked.
func (t *inviteTx) terminated() {
	t.mu.Lock()
	fns, err := t.onTerminate, t.err
	t.onTerminate, t.onCancel = nil, nil
	t.mu.Unlock()
	t.trace("INVITE server transaction ended", "why", err.Error())
	for _, f := range fns {
		f("", err)
	}
}

// trace logs a line at --log-level trace, where sipgo logs its own
// transactions' lines; its arguments are only built when it is on.
func (t *inviteTx) trace(msg string, args ...any) {
	if t.ep.log.Enabled(context.Background(), LevelTrace) {
		t.ep.log.Log(context.Background(), LevelTrace, msg, append([]any{"call_id", callID(t.req)}, args...)...)
	}
}

func (t *inviteTx) end(err error) {
	t.mu.Lock()
	ended := t.endLocked(err)
	t.mu.Unlock()
	if ended {
		t.terminated()
	}
}

// Terminate ends the transaction; sipgo's sets its error to
// ErrTransactionTerminated whatever it was.
func (t *inviteTx) Terminate() {
	t.mu.Lock()
	ended := t.endLocked(sip.ErrTransactionTerminated)
	if ended {
		t.err = sip.ErrTransactionTerminated
	}
	t.mu.Unlock()
	if ended {
		t.terminated()
	}
}

func (t *inviteTx) OnTerminate(f sip.FnTxTerminate) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == txTerminated {
		return false
	}
	t.onTerminate = append(t.onTerminate, f)
	return true
}

func (t *inviteTx) OnCancel(f sip.FnTxCancel) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == txTerminated || errors.Is(t.err, sip.ErrTransactionCanceled) {
		return false
	}
	t.onCancel = append(t.onCancel, f)
	return true
}

func (t *inviteTx) Done() <-chan struct{} { return t.done }

func (t *inviteTx) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Acks is never fed: the ACK of a 2xx goes to the call (ack_raw.go,
// handleAck), and that of an error only ends Timer G.
func (t *inviteTx) Acks() <-chan *sip.Request { return nil }

// inviteTxTable holds the transactions not yet terminated, by the hash
// of their branch. Its size is bounded by sip.max_transactions, which the
// read filter checks before it starts one.
type inviteTxTable struct {
	mu     sync.Mutex
	m      map[uint64]*inviteTx
	closed bool // by terminateAll: what the read loop still has goes to sipgo
}

// get is the transaction whose branch hashes to key, or nil.
func (tt *inviteTxTable) get(key uint64) *inviteTx {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.m[key]
}

// add keeps t; false when another transaction has its key, or the
// endpoint shut down.
func (tt *inviteTxTable) add(t *inviteTx) bool {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if tt.closed {
		return false
	}
	if tt.m == nil {
		tt.m = make(map[uint64]*inviteTx)
	}
	if _, taken := tt.m[t.key]; taken {
		return false
	}
	tt.m[t.key] = t
	return true
}

func (tt *inviteTxTable) remove(t *inviteTx) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if tt.m[t.key] == t {
		delete(tt.m, t.key)
	}
}

// terminateAll ends every transaction, as sipgo's Close ends its own:
// an INVITE still being handled is canceled, and no error is resent
// from a closed socket.
func (tt *inviteTxTable) terminateAll() {
	tt.mu.Lock()
	tt.closed = true
	all := make([]*inviteTx, 0, len(tt.m))
	for _, t := range tt.m {
		all = append(all, t)
	}
	tt.mu.Unlock()
	for _, t := range all {
		t.Terminate()
	}
}

func (tt *inviteTxTable) len() int {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return len(tt.m)
}
