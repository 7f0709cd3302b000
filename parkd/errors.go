package parkd

import (
	"errors"
	"fmt"

	"github.com/parkd/parkd/parkd/config"
)

// Error codes a Client returns; they are the API's stable error codes.
const (
	CodeSlotFull     = "slot_full"     // the slot holds a call already
	CodeLotFull      = "lot_full"      // no free slot in the lot
	CodeSlotEmpty    = "slot_empty"    // the slot holds no call
	CodeNoSuchCall   = "no_such_call"  // no call has that id (or it has ended)
	CodeNoSuchSlot   = "no_such_slot"  // no lot has that slot
	CodeNoSuchLot    = "no_such_lot"   // no lot has that name
	CodeInvalidField = "invalid_field" // a request field is missing, unknown or out of range
	CodeInvalidState = "invalid_state" // the call is not in a state the operation takes
	CodeUnauthorized = "unauthorized"  // no or a wrong API token
	CodeUnavailable  = "unavailable"   // the daemon is stopping, or cannot be reached
	CodeInternal     = "internal"      // a fault on the daemon's side
)

// Error is an operation parkd refused, with a stable Code, a message for
// people and, for invalid_field, the Field at fault.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" && e.Code == CodeInvalidField {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func fieldError(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidField, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode is err's Code when it is (or wraps) an *Error, else "".
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// asAPIError turns a config or policy validation error into an
// invalid_field error that names the key.
func asAPIError(err error, prefix string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var pe *PolicyError
	if errors.As(err, &pe) {
		return &Error{Code: CodeInvalidField, Field: config.JoinKey(prefix, pe.Key), Message: pe.Msg}
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		return &Error{Code: CodeInvalidField, Field: ce.Key, Message: ce.Msg}
	}
	return &Error{Code: CodeInvalidField, Field: prefix, Message: err.Error()}
}
