package parkd

import (
	"errors"

	"github.com/parkd/parkd/sipcore"
)

// errAnsweredAndLeft is a ring (a recall step, an attendant's connect)
// whose phone answered and hung up before parkd could bridge it.
var errAnsweredAndLeft = errors.New("answered and hung up at once")

// leftAtOnce reports whether call, one parkd placed and that was just
// answered, has already ended. Its BYE is then handled before parkd made
// it a record, found nothing to end, and a record made now would never be
// dropped: a bridged call in the API that no longer exists. Callers check
// it under s.mu, where a BYE that comes later finds the record.
func leftAtOnce(call *sipcore.Call) bool {
	select {
	case <-call.Done():
		return true
	default:
		return false
	}
}

// beforeAnsweredTaken runs the test hook, if any, between a placed call's
// answer and parkd taking it under s.mu.
func (s *Server) beforeAnsweredTaken(call *sipcore.Call) {
	if hook := s.answeredHook.Load(); hook != nil {
		(*hook)(call)
	}
}
