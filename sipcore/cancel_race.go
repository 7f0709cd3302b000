package sipcore

import (
	"errors"

	"github.com/emiago/sipgo/sip"
)

// A CANCEL and parkd's answer race: sipgo orders them under the INVITE
// transaction's own lock, and whichever comes first wins. When the CANCEL
// wins, sipgo has sent 487 and does not send parkd's response, but keeps
// it as the response its Timer G retransmits (and sends to a
// retransmitted INVITE): the caller who cancelled would get a 200 (or a
// 486, a 180, parkd's 100) half a second later, the late answers issue 14
// saw. reply gives the transaction its 487 back (keep487), whatever the
// response was; Answer also checks the cancellation once more right
// before sending its 200.
//
// parkd's own INVITE transactions (invite_tx.go) order the two under
// their lock too, but send nothing once the 487 is out and keep the 487
// as the answer they resend; keep487 changes nothing there.

// errCanceledBeforeAnswer is Answer's own error for a CANCEL seen just
// before the 200 left; it never reaches a caller (Answer returns ErrCanceled).
var errCanceledBeforeAnswer = errors.New("sipcore: canceled before the 200 was sent")

// beforeAnswerSent lets a test deliver a CANCEL between Answer's last check
// and its send; it does nothing otherwise.
var beforeAnswerSent = func(*Invite) {}

func (inv *Invite) isCanceled() bool {
	select {
	case <-inv.canceled:
		return true
	default:
		return false
	}
}

// keep487 makes sipgo's transaction retransmit the 487 it sent for a
// CANCEL instead of the response that lost the race. sipgo built that 487
// from the INVITE alone (no To tag), and so is this copy: a retransmission
// must be the same response. In the Completed state sipgo only stores it,
// and returns the cancellation, so reply does not count it twice.
func (ep *Endpoint) keep487(tx sip.ServerTransaction, req *sip.Request) {
	ep.reply(tx, req, sip.NewResponseFromRequest(req, sip.StatusRequestTerminated, "Request Terminated", nil))
}
