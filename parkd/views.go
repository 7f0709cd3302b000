package parkd

import "time"

// CallView is a parked call as the API, the console and BLF show it.
type CallView struct {
	CallID    string    `json:"call_id"`
	LocalTag  string    `json:"local_tag"`
	RemoteTag string    `json:"remote_tag"`
	Caller    Party     `json:"caller"`
	Parker    Party     `json:"parker"`
	ParkedAt  time.Time `json:"parked_at"`
}

// Party is a SIP identity: display name and URI.
type Party struct {
	Display string `json:"display,omitempty"`
	URI     string `json:"uri"`
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
		CallID:    p.call.ID.CallID,
		LocalTag:  p.call.ID.LocalTag,
		RemoteTag: p.call.ID.RemoteTag,
		Caller:    Party{Display: p.caller.Display, URI: p.caller.URI},
		Parker:    Party{Display: p.parker.Display, URI: p.parker.URI},
		ParkedAt:  p.parkedAt,
	}
}
