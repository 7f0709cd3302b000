package sipcore

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// notifier runs parkd's own non-INVITE client transactions for UDP
// NOTIFYs and BYEs (RFC 3261 §17.1.2): the bytes are written once and resent by
// Timer E (T1, doubling up to T2; T2 once a provisional response came)
// until a final response, matched by the Via branch, or the subscription's
// notify timeout (Timer F, 64·T1 by default) ends it. Responses over UDP
// are taken as the socket is read (stampedConn.ReadFrom, notify_raw.go);
// the rest (TCP, a retransmitted final) reach it through sipgo's
// unhandled-response hook, since sipgo holds no transaction for these
// requests.
type notifier struct {
	mu    sync.Mutex
	byID  map[uint64]*udpTx
	wheel timerWheel
	pacer notifyPacer
	// batchConn writes the NOTIFYs of a fan-out in batches (notify_batch.go).
	batchConn notifyConn
	// t1 and t2 are RFC 3261's T1 and T2 (sipgo's, unless a test slows
	// retransmissions down to tell a paced NOTIFY from a resent one).
	t1, t2 time.Duration
}

// udpTx is one NOTIFY in flight, or one BYE (bye_udp.go). A BYE has no
// subscription (s is nil) and hands its final status to result instead.
type udpTx struct {
	s      *Subscription
	result chan<- int // a BYE's final status, 0 when none came; buffered
	id     uint64
	// msg is the NOTIFY's bytes, written in buf when it fitted one of
	// the pool's (notify_buf.go); mu keeps a retransmission from writing
	// them while the transaction's end gives buf back.
	mu       sync.Mutex
	msg      []byte
	buf      *[]byte
	dest     netip.AddrPort
	addr     *net.UDPAddr // dest, for sendmmsg
	conn     *net.UDPConn
	pace     *paceWindow // where it holds size bytes of room (notify_pacer.go)
	size     int
	final    bool
	interval time.Duration // the next Timer E
	deadline time.Time     // Timer F
	due      time.Time     // the wheel's next visit
	answered atomic.Bool   // a provisional response came: proceeding
	done     atomic.Bool
}

func (n *notifier) init(ep *Endpoint) {
	n.byID = map[uint64]*udpTx{}
	n.t1, n.t2 = sip.T1, sip.T2
	n.wheel.fire = func(tx *udpTx, now time.Time) { ep.notifyTimer(tx, now) }
}

const notifyTail = 192

// notifyUDPLocked sends s's state over UDP, now or once its destination
// has room (notifyPacer). Callers hold s.mu and have set s.inflight.
func (s *Subscription) notifyUDPLocked(track *fanoutTrack, batch *notifyBatch) {
	h, ok := s.notifyHeadLocked()
	if !ok {
		track.done()
		go s.notifyFailed(errors.New("no UDP listener or destination"))
		return
	}
	// What follows the head: branch, CSeq, Subscription-State and
	// Content-Length lines, well under notifyTail bytes.
	body, _ := s.body.ForDatagram()
	size := len(h.requestLine) + len(h.headers) + notifyTail + len(s.final) + body.Len(s.version)
	w := s.ep.notifier.pacer.admit(h, pacedNotify{s: s, size: size, track: track})
	if w == nil {
		return // sent by sendPaced when a NOTIFY to its destination is answered
	}
	s.writeNotifyLocked(h, w, size, track, batch)
}

// sendPaced sends a NOTIFY that waited for room at its destination.
func (s *Subscription) sendPaced(p pacedNotify) {
	s.mu.Lock()
	h, ok := s.notifyHeadLocked()
	if !s.gone && ok && h.dest == p.w.dest {
		defer s.mu.Unlock()
		s.writeNotifyLocked(h, p.w, p.size, p.track, nil)
		return
	}
	// Dropped meanwhile, or a refresh moved it elsewhere: give the room to
	// the next one, and in the second case queue again at the new address.
	gone := s.gone
	s.mu.Unlock()
	s.ep.releasePaced(p.w, p.size)
	if gone {
		p.track.done()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifyUDPLocked(p.track, nil)
}

// writeNotifyLocked writes the next NOTIFY, which holds size bytes of
// room in w, and arms its timers, or adds it to batch (nil: write it
// now); callers hold s.mu.
func (s *Subscription) writeNotifyLocked(h *notifyHead, w *paceWindow, size int, track *fanoutTrack, batch *notifyBatch) {
	ep := s.ep
	l, _ := ep.listenerFor("udp")
	conn, _ := l.closer.(*net.UDPConn)
	tx := &udpTx{s: s, dest: h.dest, addr: h.addr, conn: conn, pace: w, size: size, final: s.final != ""}
	ep.notifier.register(tx) // before the write: the answer may come at once
	tx.buf = takeNotifyBuf(size)
	tx.msg = s.appendNotifyLocked(notifyBufBytes(tx.buf, size), h, tx.id)
	s.dirty = false
	if tx.final {
		s.gone = true
	}
	ep.stats.notifiesSent.Add(1)

	if batch != nil && conn != nil {
		batch.add(tx, track)
		return
	}
	var err error
	if conn == nil {
		err = errors.New("no UDP listener")
	} else {
		_, err = conn.WriteToUDPAddrPort(tx.msg, tx.dest)
	}
	ep.notifyWritten(tx, track, err)
}

// notifyWritten arms the timers of a NOTIFY just written, or ends its
// transaction when the write failed.
func (ep *Endpoint) notifyWritten(tx *udpTx, track *fanoutTrack, err error) {
	track.done()
	if err != nil {
		if ep.notifier.take(tx.id) != nil {
			go ep.notifyEnded(tx, 0, err)
		}
		return
	}
	ep.notifier.arm(tx, ep.live().Subscriptions.NotifyTimeout)
}

// arm starts the timers of a transaction just written: Timer E at T1,
// and Timer F after timeout.
func (n *notifier) arm(tx *udpTx, timeout time.Duration) {
	now := time.Now()
	tx.interval = n.t1
	tx.deadline = now.Add(timeout)
	tx.due = minTime(now.Add(tx.interval), tx.deadline)
	n.wheel.add(tx)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// register gives tx its id, the key its answer finds it by.
func (n *notifier) register(tx *udpTx) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for tx.id == 0 || n.byID[tx.id] != nil { // a clash is 2^-64, but cheap to rule out
		tx.id = rand.Uint64()
	}
	n.byID[tx.id] = tx
}

// take removes the transaction id, returning it when it was still in
// flight: whoever takes it (its final response, its timeout) ends it.
func (n *notifier) take(id uint64) *udpTx {
	n.mu.Lock()
	defer n.mu.Unlock()
	tx := n.byID[id]
	if tx != nil {
		delete(n.byID, id)
		tx.done.Store(true)
	}
	return tx
}

// abandon drops every NOTIFY and BYE still in flight, without another send or a
// log line, and stops the timer wheel: Shutdown calls it once the
// listeners are closed, when nothing can be resent or answered. Left to
// their timers, the NOTIFYs of watchers that did not answer the final one
// would be resent to a closed socket and reported unanswered up to Timer
// F (32 s) after the daemon stopped.
func (n *notifier) abandon() {
	n.mu.Lock()
	for id, tx := range n.byID {
		tx.done.Store(true)
		delete(n.byID, id)
		if tx.s == nil {
			tx.result <- 0 // the BYE's caller stops waiting
			continue
		}
		if tx.final {
			tx.s.finish()
		}
	}
	n.mu.Unlock()
	n.wheel.clear()
}

// notifyResponse takes a response to one of parkd's own NOTIFYs or BYEs that
// sipgo parsed (over TCP, or one notifyAnswer left to it); false when res
// answers none, for the other unhandled-response handling.
func (ep *Endpoint) notifyResponse(res *sip.Response) bool {
	via := res.Via()
	if via == nil {
		return false
	}
	branch, _ := via.Params.Get("branch")
	id, ok := branchID(branch)
	if !ok {
		return false
	}
	if cseq := res.CSeq(); cseq == nil || (cseq.MethodName != sip.NOTIFY && cseq.MethodName != sip.BYE) {
		return true // one of ours by its branch, but not an answer to it
	}
	ep.notifyAnswered(id, res.StatusCode)
	return true
}

// notifyAnswered ends (or, for a 1xx, slows the retransmissions of) the
// NOTIFY transaction id with status, and reports whether id was in
// flight. A retransmitted final response finds no transaction and is
// absorbed (§17.1.2.2).
func (ep *Endpoint) notifyAnswered(id uint64, status int) bool {
	if status < 200 {
		ep.notifier.mu.Lock()
		tx := ep.notifier.byID[id]
		if tx != nil {
			tx.answered.Store(true) // Timer E goes to T2 (§17.1.2.2)
		}
		ep.notifier.mu.Unlock()
		return tx != nil
	}
	tx := ep.notifier.take(id)
	if tx == nil {
		return false
	}
	if status >= 300 && !(status >= 500 && status < 600) {
		// Ends the subscription and tells the handler, which takes
		// parkd's slot lock: not on the socket's read loop.
		go ep.notifyEnded(tx, status, nil)
		return true
	}
	ep.notifyEnded(tx, status, nil)
	return true
}

// notifyTimer is a NOTIFY's timer firing on the wheel: resend it, or give
// up on it once its deadline passed.
func (ep *Endpoint) notifyTimer(tx *udpTx, now time.Time) {
	if tx.done.Load() {
		return
	}
	if !now.Before(tx.deadline) {
		if ep.notifier.take(tx.id) != nil {
			ep.notifyEnded(tx, 0, nil)
		}
		return
	}
	tx.mu.Lock()
	if tx.msg != nil { // nil: answered since the check above
		tx.conn.WriteToUDPAddrPort(tx.msg, tx.dest) // a failure shows as no answer
	}
	tx.mu.Unlock()
	if tx.answered.Load() {
		tx.interval = ep.notifier.t2
	} else {
		tx.interval = min(2*tx.interval, ep.notifier.t2)
	}
	tx.due = minTime(now.Add(tx.interval), tx.deadline)
	ep.notifier.wheel.add(tx)
}

// notifyEnded ends a NOTIFY transaction with its final response's
// status, or with none (0: timeout, or err when it could not be written),
// frees its room at the destination and lets the subscription go on (or
// end).
func (ep *Endpoint) notifyEnded(tx *udpTx, status int, err error) {
	tx.release()
	if tx.s == nil {
		tx.result <- status // a BYE: once, since only the one who took tx ends it
		return
	}
	ep.releasePaced(tx.pace, tx.size)
	s := tx.s
	if tx.final {
		defer s.finish()
	}
	switch {
	case err != nil:
		s.failed(tx.final, "sending NOTIFY failed", "error", err)
	case status == 0:
		s.failed(tx.final, "NOTIFY not answered", "timeout", ep.live().Subscriptions.NotifyTimeout)
	default:
		s.answered(status, tx.final)
	}
}

// releasePaced frees a NOTIFY's room in w and sends what waited for it.
func (ep *Endpoint) releasePaced(w *paceWindow, size int) {
	var buf [4]pacedNotify
	for _, p := range ep.notifier.pacer.release(w, size, buf[:0]) {
		p.s.sendPaced(p)
	}
}

// notifyFailed drops s after a NOTIFY that could not even be written.
func (s *Subscription) notifyFailed(err error) {
	s.mu.Lock()
	final := s.final != ""
	s.gone = s.gone || final
	s.mu.Unlock()
	if final {
		defer s.finish()
	}
	s.failed(final, "sending NOTIFY failed", "error", err)
}
