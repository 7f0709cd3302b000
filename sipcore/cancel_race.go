package sipcore

import (
	"errors"

	"github.com/emiago/sipgo/sip"
)

// A CANCEL and parkd's 200 race: sipgo orders them under the INVITE
// transaction's own lock, and whichever comes first wins. When the CANCEL
// wins, sipgo has sent 487 and ignores the 200, but keeps it as the
// response its Timer G retransmits (and sends to a retransmitted INVITE):
// the caller who cancelled would get a 200 half a second later, the late
// answers issue 14 saw. Answer checks the cancellation once more right
// before sending, and when the CANCEL still slipped in between, gives the
// transaction its 487 back.

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

// keep487 makes sipgo's transaction retransmit the 487 it sent for the
// CANCEL instead of the 200 that lost the race. sipgo built that 487 from
// the INVITE alone (no To tag), and so is this copy: a retransmission must
// be the same response. A 200 that was never handed to sipgo needs nothing.
func (inv *Invite) keep487(err error) {
	if !errors.Is(err, sip.ErrTransactionCanceled) {
		return
	}
	res := sip.NewResponseFromRequest(inv.req, sip.StatusRequestTerminated, "Request Terminated", nil)
	// In the Completed state sipgo only stores it, and returns the
	// cancellation, so reply does not count it twice.
	inv.ep.reply(inv.tx, inv.req, res)
	inv.Log.Info("CANCEL crossed the 200: the caller keeps its 487")
}
