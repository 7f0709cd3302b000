package parkd

import "time"

// CallView is a parked call as the API, the console and BLF show it.
type CallView struct {
	CallID    string `json:"call_id"`
	LocalTag  string `json:"local_tag"`
	RemoteTag string `json:"remote_tag"`
	Caller    Party  `json:"caller"`
	Parker    Party  `json:"parker"`
	// ParkerFrom says how parkd learned the parker: "Referred-By", another
	// configured header's name, "api"; "" when it does not know, and a
	// recall then skips the parker.
	ParkerFrom string    `json:"parker_from,omitempty"`
	ParkedAt   time.Time `json:"parked_at"`
	Recalls    int       `json:"recalls"`             // recall rounds started so far
	Recalling  string    `json:"recalling,omitempty"` // the step ringing now: parker, ring_group, forward
}

// Party is a SIP identity: display name and URI.
type Party struct {
	Display string `json:"display,omitempty"`
	URI     string `json:"uri"`
}

func (p Party) String() string {
	switch {
	case p.URI == "":
		return ""
	case p.Display != "":
		return p.Display + " <" + p.URI + ">"
	}
	return "<" + p.URI + ">"
}

// SlotView is one slot in a snapshot.
type SlotView struct {
	Lot     string    `json:"lot"`
	Slot    string    `json:"slot"`
	Version uint64    `json:"version"`
	Call    *CallView `json:"call,omitempty"` // nil: the slot is free
	// Subscribers is how many BLF subscriptions watch the slot.
	Subscribers int `json:"subscribers"`
}

func (p *parkedCall) view() *CallView {
	if p == nil {
		return nil
	}
	return &CallView{
		CallID:     p.call.ID.CallID,
		LocalTag:   p.call.ID.LocalTag,
		RemoteTag:  p.call.ID.RemoteTag,
		Caller:     Party{Display: p.caller.Display, URI: p.caller.URI},
		Parker:     Party{Display: p.parker.Display, URI: p.parker.URI},
		ParkerFrom: p.parkerFrom,
		ParkedAt:   p.parkedAt,
		Recalls:    p.recalls,
		Recalling:  p.ringing,
	}
}
