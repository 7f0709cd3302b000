package parkd

import (
	"context"
	"time"
)

// Client is everything a console or a script can do to parkd. The
// in-process *Server satisfies it, and so does the HTTP client in
// parkd/apiclient, so the console and `parkd ctl` run the same code
// against an embedded daemon or a remote one. Every error a Client
// returns for a refused operation is an *Error with a stable Code.
type Client interface {
	// Status is the daemon at a glance: its addresses and every lot.
	Status(ctx context.Context) (Status, error)
	Lots(ctx context.Context) ([]LotView, error)
	Slots(ctx context.Context, f SlotFilter) ([]SlotView, error)
	Slot(ctx context.Context, slot string) (SlotView, error)
	Calls(ctx context.Context, f CallFilter) ([]CallView, error)
	Call(ctx context.Context, id string) (CallView, error)

	// Park puts a queued or bridged call into a slot: req.Slot, else the
	// next free slot of req.Lot (else the call's own lot, else the first).
	Park(ctx context.Context, id string, req ParkRequest) (CallView, error)
	// Retrieve rings req.To (default: the lot's operator) and bridges the
	// slot's call to whoever answers; the call stays parked until then,
	// and an EventRingFailed says when nobody answered.
	Retrieve(ctx context.Context, slot string, req RetrieveRequest) (SlotView, error)
	// Move puts the call parked in slot into the free slot to; it
	// answers with the destination slot.
	Move(ctx context.Context, slot, to string) (SlotView, error)
	// Transfer rings to (default: the call's lot's operator) and bridges
	// the call to whoever answers.
	Transfer(ctx context.Context, id, to string) (CallView, error)
	// Hangup sends the call a BYE.
	Hangup(ctx context.Context, id string) (CallView, error)

	// Policy is a scope's effective recall policy with the source of
	// every value and the scope's live override. Scopes are "defaults",
	// "lots/NAME" and "slots/NUMBER".
	Policy(ctx context.Context, scope string) (PolicyView, error)
	// PatchPolicy sets and clears fields of the scope's live override.
	PatchPolicy(ctx context.Context, scope string, patch PolicyPatch) (PolicyView, error)
	// ClearPolicy removes the scope's live override.
	ClearPolicy(ctx context.Context, scope string) (PolicyView, error)

	// History lists what happened to parked calls, newest first.
	History(ctx context.Context, f HistoryFilter) (HistoryPage, error)

	// Subscribe streams every event after sequence number after (0: only
	// new ones). When after is older than the daemon's window, the first
	// event is an EventResync: take a fresh snapshot. The channel closes
	// when ctx ends, the daemon stops, or the reader fell too far behind;
	// resubscribe with the last Seq seen.
	Subscribe(ctx context.Context, after uint64) (<-chan Event, error)
}

// Call states, as GET /calls reports and filters them.
// Reloader is a Client that can re-read the daemon's config file (the
// daemon itself, and the HTTP client of its API); a console need not.
type Reloader interface {
	Reload(ctx context.Context) (ReloadResult, error)
}

const (
	CallQueued    = "queued"    // waiting in a lot's attendant queue
	CallParked    = "parked"    // in a slot, hearing music on hold
	CallRecalling = "recalling" // in a slot, its recall ringing
	CallRinging   = "ringing"   // queued or parked while a retrieve or transfer rings its target
	CallBridged   = "bridged"   // talking to someone through parkd
	CallFinished  = "ended"     // in the event that says the call ended
)

// Slot states.
const (
	SlotFree       = "free"
	SlotParked     = "parked"
	SlotRecalling  = "recalling"
	SlotRetrieving = "retrieving" // its call is being answered by a retriever or rung to a target
)

// Status is the daemon at a glance.
type Status struct {
	Version string    `json:"version"`
	Started time.Time `json:"started"`
	SIP     []string  `json:"sip"` // listeners, e.g. udp://127.0.0.1:5060
	Lots    []LotView `json:"lots"`
	Calls   int       `json:"calls"` // calls parkd is handling
	// LastEvent is the sequence number of the newest event.
	LastEvent uint64 `json:"last_event"`
}

// LotView is one parking lot.
type LotView struct {
	Name               string `json:"name"`
	Extension          string `json:"extension"`
	RetrieveExtension  string `json:"retrieve_extension,omitempty"`
	AttendantExtension string `json:"attendant_extension,omitempty"`
	Operator           string `json:"operator,omitempty"`
	Slots              string `json:"slots"` // the range, e.g. 701-720
	Total              int    `json:"total"`
	Used               int    `json:"used"`
	Queued             int    `json:"queued"`
	QueueMax           int    `json:"queue_max"`
}

// SlotFilter narrows Slots; zero values match everything.
type SlotFilter struct {
	Lot   string
	State string // free, parked, recalling, retrieving
}

// CallFilter narrows Calls.
type CallFilter struct {
	Lot   string
	State string // queued, parked, recalling, ringing, bridged
}

// ParkRequest says where Park puts a call.
type ParkRequest struct {
	Slot string `json:"slot,omitempty"`
	Lot  string `json:"lot,omitempty"`
	// RecallAfter is this call's own recall time, over every policy.
	RecallAfter *Duration `json:"recall_after,omitempty"`
	// Parker names who parked it, for its recall; empty keeps what SIP said.
	Parker string `json:"parker,omitempty"`
}

// RetrieveRequest says who a slot's call is rung to.
type RetrieveRequest struct {
	To string `json:"to,omitempty"`
}

// PolicyView is one scope's policy: the effective values with their
// sources (what a slot of that scope would get) and the live override.
type PolicyView struct {
	Scope     string                  `json:"scope"`
	Effective Policy                  `json:"effective"`
	Sources   map[string]PolicySource `json:"sources"`
	Override  Policy                  `json:"override"`
}

// PolicyPatch changes a live override: Set's non-nil fields are set, the
// fields named in Clear (config names, e.g. "recall_after") are removed.
type PolicyPatch struct {
	Set   Policy
	Clear []string
}

// HistoryFilter narrows History. Cursor is a page's Next.
type HistoryFilter struct {
	Lot, Slot, Caller, Outcome string
	CallID                     string // one call's story (its SIP Call-ID)
	Since, Until               time.Time
	Limit                      int
	Cursor                     string
}

// HistoryPage is one page of history, newest first; Next fetches the
// page after it ("" when this is the last).
type HistoryPage struct {
	Entries []HistoryEntry `json:"entries"`
	Next    string         `json:"next,omitempty"`
}

// HistoryEntry is one thing that happened to a parked call.
type HistoryEntry struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Lot     string    `json:"lot"`
	Slot    string    `json:"slot"`
	CallID  string    `json:"call_id"`
	Caller  string    `json:"caller"`
	Parker  string    `json:"parker,omitempty"`
	Outcome string    `json:"outcome"`
	Detail  string    `json:"detail,omitempty"`
	Parked  Duration  `json:"parked"`
}
