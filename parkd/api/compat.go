package api

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/parkd/parkd/parkd"
)

// The park APIs of the systems parkd stands in for (Kazoo's valet_park and
// call_park, a hosted PBX's UAPI) are thin adapters over the same Client
// operations, served beside /api/v1 behind the same token.

// bridger is what valet_park's bridge needs beyond parkd.Client: joining
// two calls parkd already has. The in-process daemon has it.
type bridger interface {
	Bridge(ctx context.Context, id, slot string) (parkd.CallView, error)
}

// findCall resolves a reference API's call id: parkd's API id, or the SIP
// Call-ID those systems know calls by.
func (s *server) findCall(ctx context.Context, id string) (parkd.CallView, error) {
	v, err := s.c.Call(ctx, id)
	if parkd.ErrorCode(err) != parkd.CodeNoSuchCall {
		return v, err
	}
	calls, lerr := s.c.Calls(ctx, parkd.CallFilter{})
	if lerr != nil {
		return parkd.CallView{}, lerr
	}
	for _, c := range calls {
		if c.CallID == id {
			return c, nil
		}
	}
	return parkd.CallView{}, err
}

// otherParty is who a reference API's park parks: the other party of a
// bridged call (the extension that asked leaves, and is the parker, rung
// back on recall), or a queued call itself.
func (s *server) otherParty(ctx context.Context, call parkd.CallView) (target string, parker string, err error) {
	switch call.State {
	case parkd.CallBridged:
		if call.Peer == "" {
			return "", "", &parkd.Error{Code: parkd.CodeInvalidState, Message: "the call has no other party to park"}
		}
		return call.Peer, call.Caller.URI, nil
	case parkd.CallQueued:
		return call.ID, "", nil
	}
	return "", "", &parkd.Error{Code: parkd.CodeInvalidState, Message: "call " + call.ID + " is " + call.State + "; only a bridged or queued call can be parked"}
}

// flexibleString takes a JSON string or number, as the reference docs
// write slots and times both ways ("slot": "6", "maxInParking": "30").
type flexibleString struct {
	value string
	set   bool
}

func (f *flexibleString) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		f.value, f.set = str, true
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return &json.UnmarshalTypeError{Value: "value", Type: nil}
	}
	f.value, f.set = n.String(), true
	return nil
}

// seconds reads a whole number of seconds from a flexibleString.
func (f flexibleString) seconds() (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(f.value))
	return n, err == nil
}
