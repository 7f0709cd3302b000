package api

import (
	"net/http"
	"time"

	"github.com/parkd/parkd/parkd"
)

// valetRecall is valet_park's "3 minute timeout back to the parker".
const valetRecall = parkd.Duration(3 * time.Minute)

// valetBody is PUT /extension/{ext}/valet_park/{call_id}'s body.
type valetBody struct {
	Action string         `json:"action"`
	Slot   flexibleString `json:"slot"`
}

// valetSlot is the answer of the slots action.
type valetSlot struct {
	Slot string `json:"slot"`
	UUID string `json:"UUID"` // the parked call's SIP Call-ID; "" when the slot is empty
	ID   string `json:"id,omitempty"`
}

func decodeValet(b []byte) (valetBody, error) {
	var v valetBody
	return v, decodeObject(b, &v, nil)
}

func (s *server) valetPark(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeBody(s, w, r, decodeValet)
	if !ok {
		return
	}
	ctx := r.Context()
	slot := body.Slot.value
	switch body.Action {
	case "slots":
		if !body.Slot.set {
			s.fail(w, r, invalid("slot", "is required for slots"))
			return
		}
		v, err := s.c.Slot(ctx, slot)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out := valetSlot{Slot: slot}
		if v.Call != nil {
			out.UUID, out.ID = v.Call.CallID, v.Call.ID
		}
		s.reply(w, r, out)
	case "park":
		if !body.Slot.set {
			s.fail(w, r, invalid("slot", "is required for park"))
			return
		}
		call, err := s.findCall(ctx, r.PathValue("call_id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		target, parker, err := s.otherParty(ctx, call)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		recall := valetRecall
		v, err := s.c.Park(ctx, target, parkd.ParkRequest{Slot: slot, RecallAfter: &recall, Parker: parker})
		if parkd.ErrorCode(err) == parkd.CodeSlotFull {
			err = &parkd.Error{Code: parkd.CodeSlotFull, Message: "slot already have parked member, slot is full"}
		}
		s.answer(w, r, v, err)
	case "bridge":
		b, ok := s.c.(bridger)
		if !ok {
			s.fail(w, r, &parkd.Error{Code: parkd.CodeUnavailable, Message: "bridge needs the daemon in this process"})
			return
		}
		call, err := s.findCall(ctx, r.PathValue("call_id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v, err := b.Bridge(ctx, call.ID, slot)
		s.answer(w, r, v, err)
	default:
		s.fail(w, r, invalid("action", "%q is not park, bridge or slots", body.Action))
	}
}
