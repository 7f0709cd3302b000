package parkd

import (
	"strings"
	"time"
)

// CallView is a call as the API, the console and BLF show it.
type CallView struct {
	// ID is the call's API id, stable while parkd handles the call.
	ID        string `json:"id"`
	CallID    string `json:"call_id"`
	LocalTag  string `json:"local_tag"`
	RemoteTag string `json:"remote_tag"`
	State     string `json:"state"` // queued, parked, recalling, ringing, bridged
	Lot       string `json:"lot,omitempty"`
	Slot      string `json:"slot,omitempty"`
	Caller    Party  `json:"caller"`
	// Parker is who parked the call; nil when parkd does not know, and a
	// recall then skips the parker.
	Parker *Party `json:"parker"`
	// ParkerFrom says how parkd learned the parker: "Referred-By", another
	// configured header's name, "api", "REFER", "keypad" or "attended
	// transfer" (ParkerFrom* constants).
	ParkerFrom string `json:"parker_from,omitempty"`
	// Since is when the call entered its lot (queued or parked); a move
	// keeps it.
	Since    time.Time  `json:"since"`
	ParkedAt time.Time  `json:"parked_at,omitzero"`
	RecallAt *time.Time `json:"recall_at"` // when its recall falls due; nil when none is pending
	Recalls  int        `json:"recalls"`   // recall rounds started so far
	// Recalling is the recall step ringing now: parker, ring_group, forward.
	Recalling string `json:"recalling,omitempty"`
	// Overdue: its recall fell due with nobody to ring; it waits for
	// someone to take it (see EventOverdue).
	Overdue bool `json:"overdue,omitempty"`
	// RingingTo is the target a retrieve or transfer is ringing.
	RingingTo string `json:"ringing_to,omitempty"`
	// Position is the call's place in its attendant queue, from 1.
	Position int `json:"position,omitempty"`
	// Peer is the API id of the call it is bridged to.
	Peer string `json:"peer,omitempty"`
}

// Party is a SIP identity: display name, number (the URI's user part)
// and URI.
type Party struct {
	Display string `json:"name,omitempty"`
	Number  string `json:"number,omitempty"`
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

// partyOf fills Number from the URI's user part.
func partyOf(display, uri string) Party {
	return Party{Display: display, Number: userOf(uri), URI: uri}
}

func userOf(uri string) string {
	rest := uri
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		rest = rest[i+1:]
	}
	user, _, ok := strings.Cut(rest, "@")
	if !ok {
		return ""
	}
	user, _, _ = strings.Cut(user, ";")
	return user
}

// SlotView is one slot in a snapshot.
type SlotView struct {
	Lot     string    `json:"lot"`
	Slot    string    `json:"slot"`
	State   string    `json:"state"` // free, parked, recalling, retrieving
	Version uint64    `json:"version"`
	Call    *CallView `json:"call"` // nil: the slot is free
	// Subscribers is how many BLF subscriptions watch the slot.
	Subscribers int `json:"subscribers"`
	// Retired: a reload removed the slot from the config while it held a
	// call; it keeps the call and goes when the call leaves.
	Retired bool `json:"retired,omitempty"`
}

func (p *callRecord) view() *CallView {
	if p == nil {
		return nil
	}
	v := &CallView{
		ID:         p.id,
		CallID:     p.call.ID.CallID,
		LocalTag:   p.call.ID.LocalTag,
		RemoteTag:  p.call.ID.RemoteTag,
		State:      p.state(),
		Caller:     partyOf(p.caller.Display, p.caller.URI),
		ParkerFrom: p.parkerFrom,
		ParkedAt:   p.parkedAt,
		Since:      p.since,
		Recalls:    p.recalls,
		Recalling:  p.ringing,
		Overdue:    p.overdue,
		RingingTo:  p.ringingTo,
		Position:   p.position(),
	}
	if p.lot != nil {
		v.Lot = p.lot.cfg.Name
	}
	if p.slot != nil {
		v.Slot = p.slot.name
	}
	if p.peer != nil {
		v.Peer = p.peer.id
	}
	if p.parker.URI != "" {
		pp := partyOf(p.parker.Display, p.parker.URI)
		v.Parker = &pp
	}
	if !p.recallAt.IsZero() {
		at := p.recallAt
		v.RecallAt = &at
	}
	return v
}

// parkerString is the parker as history rows keep it; "" when unknown.
func (v *CallView) parkerString() string {
	if v.Parker == nil {
		return ""
	}
	return v.Parker.String()
}
