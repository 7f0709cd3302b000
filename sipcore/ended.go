package sipcore

import (
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// maxEndedDialogs bounds the dialogs remembered as ended by a BYE: at
// 1,000 calls a second, 64*T1 of them is 32,000. Past it the oldest are
// forgotten, and a late retransmission of their BYE gets 481, which ends
// the caller's side all the same.
const maxEndedDialogs = 65536

// endedDialogs remembers for 64*T1 the dialogs a peer's BYE over UDP
// ended, so that a retransmission of that BYE (our 200 was lost) is
// answered 200 again, as a stateless UAS answers it anew (RFC 3261
// §8.2.7), although its transaction is gone. sipgo would keep the
// transaction, with the BYE and the 200 parsed, for Timer J (32 s): 3 KB
// or more a call, where an entry here is a tenth of that.
type endedDialogs struct {
	mu    sync.Mutex
	at    map[DialogID]time.Time
	queue []endedDialog // oldest first, from head
	head  int
}

type endedDialog struct {
	id DialogID
	at time.Time
}

func (e *endedDialogs) init() { e.at = map[DialogID]time.Time{} }

func endedDialogWindow() time.Duration { return 64 * sip.T1 }

func (e *endedDialogs) add(id DialogID, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expireLocked(now)
	if len(e.at) >= maxEndedDialogs {
		e.dropOldestLocked()
	}
	e.at[id] = now
	e.queue = append(e.queue, endedDialog{id: id, at: now})
}

func (e *endedDialogs) has(id DialogID, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expireLocked(now)
	_, ok := e.at[id]
	return ok
}

func (e *endedDialogs) len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.at)
}

func (e *endedDialogs) expireLocked(now time.Time) {
	window := endedDialogWindow()
	for e.head < len(e.queue) && now.Sub(e.queue[e.head].at) > window {
		e.dropOldestLocked()
	}
}

func (e *endedDialogs) dropOldestLocked() {
	if e.head == len(e.queue) {
		return
	}
	old := e.queue[e.head]
	if e.at[old.id].Equal(old.at) { // not since ended again
		delete(e.at, old.id)
	}
	e.queue[e.head] = endedDialog{}
	e.head++
	if e.head == len(e.queue) {
		e.queue, e.head = e.queue[:0], 0
	} else if e.head >= 1024 && e.head >= len(e.queue)/2 {
		n := copy(e.queue, e.queue[e.head:])
		clear(e.queue[n:])
		e.queue, e.head = e.queue[:n], 0
	}
}

// byeAnswered follows the 200 to a BYE that ended dialog id: over UDP the
// transaction ends at once and the dialog is remembered instead.
func (ep *Endpoint) byeAnswered(id DialogID, req *sip.Request, tx sip.ServerTransaction) {
	if !strings.EqualFold(req.Transport(), "udp") {
		return // reliable transports keep no transaction after the answer anyway
	}
	ep.ended.add(id, time.Now())
	tx.Terminate()
}

// answerEndedBye answers a BYE for a dialog a BYE already ended: the
// same 200 again. False when the dialog is not one of them.
func (ep *Endpoint) answerEndedBye(req *sip.Request, tx sip.ServerTransaction) bool {
	id, ok := requestDialogID(req)
	if !ok || !ep.ended.has(id, time.Now()) {
		return false
	}
	ep.respond(tx, req, 200, "OK")
	if strings.EqualFold(req.Transport(), "udp") {
		tx.Terminate()
	}
	return true
}
