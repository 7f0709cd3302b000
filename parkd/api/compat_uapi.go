package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/parkd/parkd/parkd"
)

// VoipNow UAPI's limits and errors for parking a phone call.
const (
	uapiDefaultPark = 180 // seconds in the lot before the call returns to its parker
	uapiMinPark     = 10
	uapiMaxPark     = 3600

	codeParkTimeoutInvalid = "pc_parktimeout_invalid"
	codePhoneCallInvalid   = "pc_phonecall_invalid"
	codeViewInvalid        = "pc_phonecallview_invalid"
)

type uapiBody struct {
	Action          string         `json:"action"`
	MaxInParking    flexibleString `json:"maxInParking"`
	PhoneCallViewID string         `json:"phoneCallViewId"`
}

// uapiCall is the PhoneCall the UAPI answers with.
type uapiCall struct {
	ID            string          `json:"id"`
	Extension     string          `json:"extension"`
	PhoneCallView []uapiCallView  `json:"phoneCallView"`
	Call          *parkd.CallView `json:"parkd"` // the parked call as /api/v1 shows it
}

type uapiCallView struct {
	ID        string    `json:"id"`
	Extension string    `json:"extension"`
	CallerID  string    `json:"callerId"`
	Parked    time.Time `json:"parked"`
	ParkedPos string    `json:"parkedPos"`
	ParkedBy  string    `json:"parkedBy"`
}

func decodeUAPI(b []byte) (uapiBody, error) {
	var v uapiBody
	return v, decodeObject(b, &v, nil)
}

// uapiPark is PUT /uapi/phoneCalls/{user}/{ext}/{call_id} with action Park.
func (s *server) uapiPark(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeBody(s, w, r, decodeUAPI)
	if !ok {
		return
	}
	if !strings.EqualFold(body.Action, "Park") {
		s.fail(w, r, invalid("action", "%q is not Park, the one action parkd takes here", body.Action))
		return
	}
	secs := uapiDefaultPark
	if body.MaxInParking.set {
		n, ok := body.MaxInParking.seconds()
		if !ok || n < uapiMinPark || n > uapiMaxPark {
			writeError(w, http.StatusBadRequest, errorBody{Code: codeParkTimeoutInvalid, Field: "maxInParking",
				Message: "maxInParking must be a number of seconds from 10 to 3600"})
			return
		}
		secs = n
	}
	if body.PhoneCallViewID == "" {
		writeError(w, http.StatusBadRequest, errorBody{Code: codeViewInvalid, Field: "phoneCallViewId",
			Message: "phoneCallViewId is required: the view of the party to park"})
		return
	}
	ctx := r.Context()
	call, err := s.findCall(ctx, r.PathValue("call_id"))
	if parkd.ErrorCode(err) == parkd.CodeNoSuchCall {
		writeError(w, http.StatusBadRequest, errorBody{Code: codePhoneCallInvalid, Field: "phoneCallId",
			Message: "phoneCallId names no phone call parkd has"})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	target, parker, err := s.otherParty(ctx, call)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	recall := parkd.Duration(time.Duration(secs) * time.Second)
	v, err := s.c.Park(ctx, target, parkd.ParkRequest{RecallAfter: &recall, Parker: parker})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ext := r.PathValue("ext")
	s.reply(w, r, []uapiCall{{
		ID: call.ID, Extension: ext, Call: &v,
		PhoneCallView: []uapiCallView{{
			ID: body.PhoneCallViewID, Extension: ext, CallerID: callerID(v.Caller),
			Parked: v.ParkedAt, ParkedPos: v.Slot, ParkedBy: ext,
		}},
	}})
}

// callerID writes a party the UAPI way: "John Doe <3333>".
func callerID(p parkd.Party) string {
	number := p.Number
	if number == "" {
		number = p.URI
	}
	if p.Display == "" {
		return number
	}
	return p.Display + " <" + number + ">"
}
