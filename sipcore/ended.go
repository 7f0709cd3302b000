package sipcore

import (
	"hash/maphash"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// endedDialogs remembers for 64*T1 the dialogs a peer's BYE over UDP
// ended, so that a retransmission of that BYE (our 200 was lost) is
// answered 200 again, as a stateless UAS answers it anew (RFC 3261
// §8.2.7), although its transaction is gone. sipgo would keep the
// transaction, with the BYE and the 200 parsed, for Timer J (32 s): 3 KB
// or more a call, where an entry here is a tenth of that: a hash of the
// dialog's id, whatever length the peer gave its Call-ID and tag. Past
// maxRemembered the oldest are forgotten, and a late retransmission of
// their BYE gets 481, which ends the caller's side all the same.
type endedDialogs = expiringSet[uint64, struct{}]

// dialogHash is what endedDialogs remembers of a dialog.
func dialogHash(id DialogID) uint64 {
	var h maphash.Hash
	h.SetSeed(rememberSeed)
	h.WriteString(id.CallID)
	h.WriteByte(0)
	h.WriteString(id.LocalTag)
	h.WriteByte(0)
	h.WriteString(id.RemoteTag)
	return h.Sum64()
}

// byeAnswered follows the 200 to a BYE that ended dialog id: over UDP the
// transaction ends at once and the dialog is remembered instead.
func (ep *Endpoint) byeAnswered(id DialogID, req *sip.Request, tx sip.ServerTransaction) {
	if !strings.EqualFold(req.Transport(), "udp") {
		return // reliable transports keep no transaction after the answer anyway
	}
	ep.ended.add(dialogHash(id), struct{}{}, time.Now())
	tx.Terminate()
}

// answerEndedBye answers a BYE for a dialog a BYE already ended: the
// same 200 again. False when the dialog is not one of them.
func (ep *Endpoint) answerEndedBye(req *sip.Request, tx sip.ServerTransaction) bool {
	id, ok := requestDialogID(req)
	if !ok || !ep.ended.has(dialogHash(id), time.Now()) {
		return false
	}
	ep.respond(tx, req, 200, "OK")
	if strings.EqualFold(req.Transport(), "udp") {
		tx.Terminate()
	}
	return true
}
