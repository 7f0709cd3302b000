package config

import "time"

// The config file contract (docs/CONFIG.md): one struct per
// section, with the values its enum keys take and the bounds that keep a
// mistyped or hostile file cheap.

// Config is the whole config file. docs/CONFIG.md lists every key.
type Config struct {
	SIP      SIPConfig   `yaml:"sip" json:"sip"`
	RTP      RTPConfig   `yaml:"rtp" json:"rtp"`
	API      APIConfig   `yaml:"api" json:"api"`
	BLF      BLFConfig   `yaml:"blf" json:"blf"`
	Data     string      `yaml:"data" json:"data"` // ~ expanded; default $XDG_STATE_HOME/parkd else ~/.local/state/parkd
	MOH      string      `yaml:"moh" json:"moh"`   // "builtin" or a WAV path
	Defaults Policy      `yaml:"defaults" json:"defaults"`
	Lots     []LotConfig `yaml:"lots" json:"lots"`
	// RingGroups are named groups of SIP URIs, for APIs that name a ring
	// group by id (the call park server settings API's ring_group_id).
	RingGroups map[string][]string `yaml:"ring_groups,omitempty" json:"ring_groups,omitempty"`
}

// SIPConfig is the `sip:` section.
type SIPConfig struct {
	Listen        []string `yaml:"listen" json:"listen"`                 // URIs udp://host:port or tcp://host:port
	Advertise     string   `yaml:"advertise" json:"advertise"`           // host or IP put in SDP c= and Contact; "" = the listen address
	OutboundProxy string   `yaml:"outbound_proxy" json:"outbound_proxy"` // SIP URI or host:port, may be ""
	Allow         []string `yaml:"allow" json:"allow"`                   // CIDRs; a bare IP means /32 (/128); empty refuses everyone
	// ParkerHeaders are tried, in order, after Referred-By to learn who
	// parked a call whose transfer carried none (e.g. Diversion,
	// History-Info, a PBX's own X- header).
	ParkerHeaders []string `yaml:"parker_headers,omitempty" json:"parker_headers,omitempty"`
	// RecallAlertInfo is the Alert-Info of recall INVITEs, so phones ring
	// them distinctly; "" sends none.
	RecallAlertInfo string `yaml:"recall_alert_info" json:"recall_alert_info"`
	// Trusted are the PBXs' networks: their requests need no digest
	// authentication and their watchers see the full BLF detail.
	Trusted []string   `yaml:"trusted,omitempty" json:"trusted,omitempty"`
	Auth    AuthConfig `yaml:"auth" json:"auth"`
	TCP     TCPLimits  `yaml:"tcp" json:"tcp"`
	// RateLimit sheds floods per source IP; MaxTransactions caps the
	// server transactions alive at once (past it 503); MaxPendingInvites
	// caps the new INVITEs received and not yet answered (past it 503 at
	// once: parkd has fallen behind).
	RateLimit         RateLimit `yaml:"rate_limit" json:"rate_limit"`
	MaxTransactions   int       `yaml:"max_transactions" json:"max_transactions"`
	MaxPendingInvites int       `yaml:"max_pending_invites" json:"max_pending_invites"`
}

// DefaultRecallAlertInfo is RFC 7462's URN for a call coming back after a
// transfer: phones that know it ring distinctly, the rest ring normally.
const DefaultRecallAlertInfo = "<urn:alert:service:recall:transfer>"

// RTPConfig is the `rtp:` section.
type RTPConfig struct {
	Address string   `yaml:"address" json:"address"`
	Ports   string   `yaml:"ports" json:"ports"`     // "LOW-HIGH"
	Timeout Duration `yaml:"timeout" json:"timeout"` // no RTP for this long ends a call; 0 disables
	// MaxRelayDelay: a bridged call's packet that waited in parkd longer
	// than this is not relayed (parkd is behind); 0 relays every packet.
	MaxRelayDelay Duration `yaml:"max_relay_delay" json:"max_relay_delay"`
	// Latch says whose RTP a session accepts: sdp (only the SDP address),
	// signalling (any port on the IP the call's SIP came from, or the SDP
	// address) or any (the old latch-on-first-packet; never for untrusted
	// networks).
	Latch string `yaml:"latch" json:"latch"`
}

// rtp.latch values.
const (
	LatchSDP        = "sdp"
	LatchSignalling = "signalling"
	LatchAny        = "any"
)

var latchValues = []string{LatchSDP, LatchSignalling, LatchAny}

// APIConfig is the `api:` section.
type APIConfig struct {
	Listen string `yaml:"listen" json:"listen"` // host:port; "" disables the HTTP API
	// TLS serves HTTPS, for a console on another machine; both or neither.
	TLS APITLS `yaml:"tls" json:"tls"`
}

// APITLS is `api.tls:`, PEM files.
type APITLS struct {
	Cert string `yaml:"cert" json:"cert,omitempty"`
	Key  string `yaml:"key" json:"key,omitempty"`
}

// Lot enum values.
const (
	FindSlotFirst = "first"
	FindSlotNext  = "next"

	SlotActionPark       = "park"
	SlotActionDirectPark = "direct_park"
	SlotActionRetrieve   = "retrieve"
	SlotActionAuto       = "auto"

	WhenFullReject   = "reject"
	WhenFullOverflow = "overflow" // written "overflow:<lot name>"
	WhenFullForward  = "forward"  // written "forward:<sip uri>"

	QueueOverflowHangup  = "hangup"
	QueueOverflowForward = "forward" // written "forward:<sip uri>"
	DefaultQueueMax      = 20
	DefaultQueueTimeout  = 10 * time.Minute

	// DefaultMaxRelayDelay is rtp.max_relay_delay's default, the same as
	// media.DefaultMaxRelayDelay, where the reasons are.
	DefaultMaxRelayDelay = 100 * time.Millisecond

	TransferReject   = "reject"
	TransferNextFree = "next_free"

	NotifyParkerMessage = "message"
	NotifyParkerNone    = "none"

	// MOHBuiltin selects the built-in music on hold.
	MOHBuiltin = "builtin"

	// ParkAlias is the user part that always reaches the first lot's park
	// extension (extension 700 is "also park"). It is reserved
	// here only in spirit: dial strings are [0-9*#] so no lot can claim it,
	// and the daemon routes it.
	ParkAlias = "park"
)

var (
	findSlotValues   = []string{FindSlotFirst, FindSlotNext}
	slotActionValues = []string{SlotActionPark, SlotActionDirectPark, SlotActionRetrieve, SlotActionAuto}
	transferValues   = []string{TransferReject, TransferNextFree}
	notifyValues     = []string{NotifyParkerMessage, NotifyParkerNone}
)

// Limits that keep a hostile or mistyped config from costing much memory.
const (
	maxSlotsPerLot  = 1000
	maxSlotDigits   = 9 // fits an int everywhere
	maxLots         = 1000
	maxAnswerDelay  = 30 * time.Second
	maxQueue        = 1000
	maxQueueTimeout = 24 * time.Hour
	minRTPTimeout   = 5 * time.Second
	minRelayDelay   = 20 * time.Millisecond // one packet's time
	maxRelayDelay   = 10 * time.Second
	maxDialString   = 64
	maxDecodeBudget = 1 << 20 // YAML nodes visited, aliases expanded
)

// LotConfig is one entry of `lots:`.
type LotConfig struct {
	Name               string            `yaml:"name" json:"name"`
	Extension          string            `yaml:"extension" json:"extension"`                       // dial string [0-9*#]{1,64}; required in a listed lot
	RetrieveExtension  string            `yaml:"retrieve_extension" json:"retrieve_extension"`     // "" = none; default lot main: "*700"
	Slots              string            `yaml:"slots" json:"slots"`                               // "701-720": same digit count, ≤ 1000 slots; required
	FindSlot           string            `yaml:"find_slot" json:"find_slot"`                       // first | next
	SlotAction         string            `yaml:"slot_action" json:"slot_action"`                   // park | direct_park | retrieve | auto
	WhenFull           string            `yaml:"when_full" json:"when_full"`                       // reject | overflow:<lot name> | forward:<sip uri>
	TransferToOccupied string            `yaml:"transfer_to_occupied" json:"transfer_to_occupied"` // reject | next_free
	AttendantExtension string            `yaml:"attendant_extension" json:"attendant_extension"`   // dial string or SIP URI, may be ""
	Operator           string            `yaml:"operator" json:"operator"`                         // the receptionist's phone URI, may be ""
	AnswerDelay        Duration          `yaml:"answer_delay" json:"answer_delay"`                 // ring (180) this long before answering a park; 0–30s
	QueueMax           int               `yaml:"queue_max" json:"queue_max"`                       // calls the attendant queue holds, beyond it 486; 0 = DefaultQueueMax
	QueueTimeout       Duration          `yaml:"queue_timeout" json:"queue_timeout"`               // how long a call may wait there; 0 = for ever
	QueueOverflow      string            `yaml:"queue_overflow" json:"queue_overflow"`             // hangup ("" too) | forward:<sip uri>, when queue_timeout runs out
	Policy             Policy            `yaml:"policy" json:"policy"`
	SlotPolicies       map[string]Policy `yaml:"slot_policies,omitempty" json:"slot_policies,omitempty"` // keys are slots of this lot
	Kazoo              map[string]any    `yaml:"kazoo,omitempty" json:"kazoo,omitempty"`                 // a Kazoo park data object, verbatim
	// RetrieveAllow lists who may retrieve or pick up this lot's calls:
	// user names (the digest user, or the From user of a trusted source)
	// or SIP URI patterns with * wildcards. Empty lets anyone sip.allow
	// lets in.
	RetrieveAllow []string `yaml:"retrieve_allow,omitempty" json:"retrieve_allow,omitempty"`
	// NotifyParker says how the parker learns where its call went after a
	// blind transfer: message (a SIP MESSAGE naming the slot) or none.
	NotifyParker string `yaml:"notify_parker" json:"notify_parker"` // message ("" too) | none
	// What callers hear and dial around a park (transfer.go).
	AnnounceSlot    *bool             `yaml:"announce_slot" json:"announce_slot"`         // speak the slot to a call that parks itself; default true
	AttendedTimeout Duration          `yaml:"attended_timeout" json:"attended_timeout"`   // how long an attended park waits for the Replaces INVITE; 1s–5m, default 15s
	EmptySlot       string            `yaml:"empty_slot" json:"empty_slot"`               // reject ("" too: 404) | prompt ("no call parked here", then BYE)
	RecallPrompt    *bool             `yaml:"recall_prompt" json:"recall_prompt"`         // "your call is being returned" to the parked caller as a recall starts; default true
	CourtesyTone    bool              `yaml:"courtesy_tone" json:"courtesy_tone"`         // a beep to the retriever before the bridge
	ParkDTMF        string            `yaml:"park_dtmf" json:"park_dtmf"`                 // e.g. "#72": in a bridged call, parks the other leg; "" = off
	Prompts         map[string]string `yaml:"prompts,omitempty" json:"prompts,omitempty"` // prompt name -> WAV file replacing it
}

// QueueMaxOrDefault is queue_max with 0 read as the default.
func (l LotConfig) QueueMaxOrDefault() int {
	if l.QueueMax == 0 {
		return DefaultQueueMax
	}
	return l.QueueMax
}

// ListenAddr is one parsed sip.listen URI.
type ListenAddr struct {
	Network string // "udp" or "tcp"
	Addr    string // host:port, for net.Listen*
}
