package parkd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file is the config file contract of DESIGN.md ("Defaults", "Config
// file"): the types, their defaults, the strict YAML/JSON reader and the
// validator. Recall policies live in config_policy.go.

// ---------------------------------------------------------------- Duration

// Duration is a time.Duration written as a Go duration string ("45s", "2m")
// in YAML and JSON. Bare numbers are refused (except 0) because nobody can
// tell whether 45 means seconds or milliseconds — Kazoo uses ms.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d without the trailing zero units Go adds: "2m", not
// "2m0s", so errors and marshalled files read like what admins write.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

// MarshalText makes JSON (and any text encoder) write the duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err == nil {
		*d = v
	}
	return err
}

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a duration string, refusing bare numbers with a hint.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDurationNode(n)
	if err == nil {
		*d = v
	}
	return err
}

// UnmarshalJSON reads a JSON string; a JSON number gets the same hint as in
// YAML instead of encoding/json's generic type error.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return bareNumberError(string(b))
	}
	return d.UnmarshalText([]byte(s))
}

func parseDurationNode(n *yaml.Node) (Duration, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, fmt.Errorf(`must be a duration like "45s", not %s`, kindName(n))
	}
	if n.Tag == "!!int" || n.Tag == "!!float" {
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil && v == 0 {
			return 0, nil // "0" has no unit to get wrong
		}
		return 0, bareNumberError(n.Value)
	}
	return parseDuration(n.Value)
}

func parseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return 0, bareNumberError(s)
		}
		return 0, fmt.Errorf(`%q is not a duration; use a duration like "45s"`, s)
	}
	if v < 0 {
		return 0, fmt.Errorf("must not be negative (got %s)", s)
	}
	return Duration(v), nil
}

func bareNumberError(s string) error {
	return fmt.Errorf(`plain number %s is not a duration; use a duration like "45s"`, s)
}

// ------------------------------------------------------------------- types

// Config is the whole config file. See DESIGN.md "Config file".
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
	// server transactions alive at once (past it 503).
	RateLimit       RateLimit `yaml:"rate_limit" json:"rate_limit"`
	MaxTransactions int       `yaml:"max_transactions" json:"max_transactions"`
}

// DefaultRecallAlertInfo is RFC 7462's URN for a call coming back after a
// transfer: phones that know it ring distinctly, the rest ring normally.
const DefaultRecallAlertInfo = "<urn:alert:service:recall:transfer>"

// RTPConfig is the `rtp:` section.
type RTPConfig struct {
	Address string   `yaml:"address" json:"address"`
	Ports   string   `yaml:"ports" json:"ports"`     // "LOW-HIGH"
	Timeout Duration `yaml:"timeout" json:"timeout"` // no RTP for this long ends a call; 0 disables
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

	TransferReject   = "reject"
	TransferNextFree = "next_free"

	NotifyParkerMessage = "message"
	NotifyParkerNone    = "none"

	// MOHBuiltin selects the built-in music on hold.
	MOHBuiltin = "builtin"

	// ParkAlias is the user part that always reaches the first lot's park
	// extension (DESIGN.md: extension 700 is "also park"). It is reserved
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
	// What callers hear and dial around a park (config_transfer.go).
	AnnounceSlot    *bool             `yaml:"announce_slot" json:"announce_slot"`         // speak the slot to a call that parks itself; default true
	AttendedTimeout Duration          `yaml:"attended_timeout" json:"attended_timeout"`   // how long an attended park waits for the Replaces INVITE; 1s–5m, default 15s
	EmptySlot       string            `yaml:"empty_slot" json:"empty_slot"`               // reject ("" too: 404) | prompt ("no call parked here", then BYE)
	RecallPrompt    *bool             `yaml:"recall_prompt" json:"recall_prompt"`         // "your call is being returned" to the parked caller as a recall starts; default true
	CourtesyTone    bool              `yaml:"courtesy_tone" json:"courtesy_tone"`         // a beep to the retriever before the bridge
	ParkDTMF        string            `yaml:"park_dtmf" json:"park_dtmf"`                 // e.g. "#72": in a bridged call, parks the other leg; "" = off
	Prompts         map[string]string `yaml:"prompts,omitempty" json:"prompts,omitempty"` // prompt name -> WAV file replacing it
}

// queueMax is queue_max with 0 read as the default.
func (l LotConfig) queueMax() int {
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

// ConfigError is a config problem tied to one key. Key is a path such as
// "lots[1].slots" or "sip.listen[0]" ("" for the file as a whole). Line is
// the line in the file when known, File the file name when known.
type ConfigError struct {
	Key  string
	Msg  string
	Line int
	File string

	msgNamesKey bool // Msg already says which key ("unknown key … in …")
}

// Error reads "config: <key>: <msg>", with "line N: " after the prefix when
// the line is known, and the file name instead of "config" when known.
func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString("config")
	}
	b.WriteString(": ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" && !e.msgNamesKey {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ---------------------------------------------------------------- defaults

// DefaultConfig is a fresh start with no config file (DESIGN.md "Defaults").
func DefaultConfig() Config {
	return Config{
		SIP: SIPConfig{
			Listen:          []string{"udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"},
			Allow:           []string{"127.0.0.0/8"},
			RecallAlertInfo: DefaultRecallAlertInfo,
			Auth:            DefaultAuth(),
			TCP:             DefaultTCPLimits(),
			RateLimit:       DefaultRateLimit(),
			MaxTransactions: DefaultMaxTransactions,
		},
		RTP:      RTPConfig{Address: "127.0.0.1", Ports: "20000-20999", Timeout: Duration(60 * time.Second), Latch: LatchSignalling},
		API:      APIConfig{Listen: "127.0.0.1:7080"},
		BLF:      DefaultBLF(),
		Data:     DefaultDataDir(),
		MOH:      MOHBuiltin,
		Defaults: BuiltinPolicy(),
		Lots:     []LotConfig{DefaultLot()},
	}
}

// DefaultLot is the lot `main` that exists when the config lists no lots.
func DefaultLot() LotConfig {
	l := listedLotDefaults()
	l.Name = "main"
	l.Extension = "700"
	l.RetrieveExtension = "*700"
	l.Slots = "701-720"
	l.AttendantExtension = "0"
	return l
}

// listedLotDefaults fills the keys a listed lot may leave out. Extension and
// slots are deliberately absent: a lot without them is a mistake to report.
func listedLotDefaults() LotConfig {
	return LotConfig{
		FindSlot:           FindSlotFirst,
		SlotAction:         SlotActionAuto,
		QueueMax:           DefaultQueueMax,
		QueueTimeout:       Duration(DefaultQueueTimeout),
		QueueOverflow:      QueueOverflowHangup,
		WhenFull:           WhenFullReject,
		TransferToOccupied: TransferReject,
		NotifyParker:       NotifyParkerMessage,
		AnnounceSlot:       ptr(true),
		AttendedTimeout:    Duration(DefaultAttendedTimeout),
		EmptySlot:          EmptySlotReject,
		RecallPrompt:       ptr(true),
	}
}

// DefaultDataDir is $XDG_STATE_HOME/parkd, else ~/.local/state/parkd. The
// XDG spec says to ignore a relative XDG_STATE_HOME. With no home directory
// either (a bare service account) it is ".parkd" in the working directory
// rather than a shared place like /tmp, since it holds the API token.
func DefaultDataDir() string {
	if x := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "parkd")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "state", "parkd")
	}
	return ".parkd"
}

// expandHome turns a leading "~" or "~/" into the home directory. "~user"
// is left alone: it is rare and needs a user database lookup.
func expandHome(p string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return p
	}
	return filepath.Join(home, p[1:])
}

// ----------------------------------------------------------------- reading

// LoadConfig reads and parses the config file at path. Errors start with
// the path.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path goes in front instead of "open <path>:"
		}
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			named := *ce
			named.File = path
			return Config{}, &named
		}
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig reads a config file's text (YAML, or JSON which is YAML) and
// validates it. Keys not given keep DefaultConfig's values, except that a
// `lots:` key replaces the default lot with exactly the lots listed, each
// starting from the lot defaults. An empty key (`key:` or null) clears it:
// for a lot or slot policy field that means "inherit"; a cleared defaults
// field gets its built-in value back, so Defaults is always complete.
// Unknown keys are errors. All errors are *ConfigError naming the key and,
// when known, the line.
func ParseConfig(data []byte) (Config, error) {
	root, err := parseYAML(data)
	if err != nil {
		return Config{}, err
	}
	cfg := DefaultConfig()
	d := &nodeDecoder{budget: maxDecodeBudget, lines: map[string]int{}}
	if root != nil {
		if root.Kind != yaml.MappingNode {
			return Config{}, &ConfigError{Line: root.Line, Msg: "the file must be a mapping of keys such as sip:, rtp:, lots:"}
		}
		if err := d.decode(root, reflect.ValueOf(&cfg).Elem(), ""); err != nil {
			return Config{}, err
		}
	}
	// Keys cleared in defaults: fall back to the built-in values, so that
	// Defaults is always complete (and reads back the same when written).
	cfg.Defaults = cfg.Defaults.Over(BuiltinPolicy())
	cfg.expandPaths()
	if errs := cfg.Problems(); len(errs) > 0 {
		e := *errs[0]
		e.Line = d.lineOf(e.Key)
		return Config{}, &e
	}
	return cfg, nil
}

// expandPaths expands "~" in every path-valued key.
func (c *Config) expandPaths() {
	c.Data = expandHome(c.Data)
	c.MOH = expandHome(c.MOH)
	expand := func(p *Policy) {
		if p.MOH != nil {
			p.MOH = ptr(expandHome(*p.MOH))
		}
	}
	expand(&c.Defaults)
	for i := range c.Lots {
		expand(&c.Lots[i].Policy)
		for k, sp := range c.Lots[i].SlotPolicies {
			expand(&sp)
			c.Lots[i].SlotPolicies[k] = sp
		}
	}
}

// parseYAML parses the text into one node tree, nil for an empty document.
func parseYAML(data []byte) (root *yaml.Node, err error) {
	// The YAML library parses untrusted text; should it ever panic, the
	// admin must get an error, not a crashed daemon.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, &ConfigError{Msg: fmt.Sprintf("cannot parse the file as YAML (%v)", r)}
		}
	}()
	data = untabJSON(data)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlSyntaxError(err, data)
	}
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, yamlSyntaxError(err, data)
		}
		if documentRoot(&extra) != nil {
			return nil, &ConfigError{Line: extra.Line, Msg: "only one YAML document is allowed (a second one starts here)"}
		}
	}
	return documentRoot(&doc), nil
}

// documentRoot unwraps a document node; nil when it holds nothing.
func documentRoot(doc *yaml.Node) *yaml.Node {
	n := doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	if isNull(n) {
		return nil
	}
	return n
}

// untabJSON replaces tabs in a JSON document with spaces: tab-indented
// JSON is common and valid JSON, but YAML refuses tabs as indentation. It
// is safe because valid JSON can only hold tabs as whitespace (a tab inside
// a JSON string must be written \t).
func untabJSON(data []byte) []byte {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || bytes.IndexByte(data, '\t') < 0 || !json.Valid(data) {
		return data
	}
	return bytes.ReplaceAll(data, []byte("\t"), []byte(" "))
}

var yamlLineRE = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// yamlSyntaxError turns the YAML library's message into a ConfigError with
// the line split out, plus hints for the two mistakes admins make most.
func yamlSyntaxError(err error, data []byte) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	switch {
	case strings.Contains(msg, "unknown anchor"):
		if _, name, ok := strings.Cut(msg, "'"); ok && line == 0 { // yaml.v3 gives no line here
			name, _, _ = strings.Cut(name, "'")
			line = lineContaining(data, "*"+name)
		}
		msg += `; quote values that start with "*", like retrieve_extension: "*700"`
	case line > 0 && strings.Contains(lineText(data, line), "\t"):
		msg += "; YAML does not allow tabs for indentation"
	}
	return &ConfigError{Line: line, Msg: "cannot parse: " + msg}
}

// lineContaining returns the 1-based line of the first occurrence of sub.
func lineContaining(data []byte, sub string) int {
	i := bytes.Index(data, []byte(sub))
	if i < 0 {
		return 0
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}

// lineText returns the 1-based line n of data ("" past the end).
func lineText(data []byte, n int) string {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(data, '\n')
		if j < 0 {
			return ""
		}
		data = data[j+1:]
	}
	if j := bytes.IndexByte(data, '\n'); j >= 0 {
		data = data[:j]
	}
	return string(data)
}

// ---------------------------------------------------------------- decoding

// nodeDecoder copies a YAML node tree into the config structs. It replaces
// yaml.v3's own struct decoding (Decoder.KnownFields) because that one
// reports unknown keys as "field x not found in type parkd.Policy": ours
// names the key path and line, gives lots their defaults, and remembers the
// line of every key so validation errors can point into the file too.
type nodeDecoder struct {
	budget int            // nodes left to visit; aliases can expand a short file enormously
	lines  map[string]int // key path → line
}

var durationType = reflect.TypeFor[Duration]()

func (d *nodeDecoder) spend(n *yaml.Node, path string, cost int) error {
	d.budget -= cost
	if d.budget < 0 {
		return &ConfigError{Key: path, Line: n.Line, Msg: "the file is too large once its aliases are expanded"}
	}
	return nil
}

// decode stores node n into v; path is v's key path for errors.
func (d *nodeDecoder) decode(n *yaml.Node, v reflect.Value, path string) error {
	if err := d.spend(n, path, 1); err != nil {
		return err
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return d.decode(n.Alias, v, path)
	}
	if isNull(n) {
		if v.Kind() != reflect.Struct { // a section left empty keeps its defaults
			v.SetZero()
		}
		return nil
	}
	if v.Type() == durationType {
		return d.decodeDuration(n, v, path)
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem()) // fresh: never write through a default's pointer
		if err := d.decode(n, elem.Elem(), path); err != nil {
			return err
		}
		v.Set(elem)
		return nil
	case reflect.Struct:
		return d.decodeStruct(n, v, path)
	case reflect.Slice:
		return d.decodeSlice(n, v, path)
	case reflect.Map:
		if v.Type().Elem().Kind() == reflect.Interface {
			return d.decodeVerbatim(n, v, path)
		}
		return d.decodeMap(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return nodeError(n, path, "must be a single value, not %s", kindName(n))
		}
		v.SetString(n.Value)
		return nil
	case reflect.Int:
		return d.decodeInt(n, v, path)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			return nodeError(n, path, "must be true or false (got %s)", describe(n))
		}
		v.SetBool(b)
		return nil
	}
	return nodeError(n, path, "cannot hold a value of Go type %s", v.Type()) // a new field type nobody taught us
}

func (d *nodeDecoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) error {
	dur, err := parseDurationNode(n)
	if err != nil {
		return nodeError(n, path, "%v", err)
	}
	v.SetInt(int64(dur))
	return nil
}

func (d *nodeDecoder) decodeInt(n *yaml.Node, v reflect.Value, path string) error {
	var i int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
		return nodeError(n, path, "must be a whole number (got %s)", describe(n))
	}
	v.SetInt(int64(i))
	return nil
}

func (d *nodeDecoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return nodeError(n, path, "must be a mapping of keys, not %s", describe(n))
	}
	pairs, err := d.pairs(n, path)
	if err != nil {
		return err
	}
	fields := yamlFields(v.Type())
	for _, p := range pairs {
		i, ok := fields[p.name]
		if !ok {
			return unknownKey(p, path, fields)
		}
		child := joinKey(path, p.name)
		d.lines[child] = p.key.Line
		if err := d.decode(p.value, v.Field(i), child); err != nil {
			return err
		}
	}
	return nil
}

func (d *nodeDecoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.SequenceNode {
		return nodeError(n, path, "must be a list (write [value] for one), not %s", describe(n))
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		elem := out.Index(i)
		if elem.Type() == reflect.TypeFor[LotConfig]() {
			elem.Set(reflect.ValueOf(listedLotDefaults()))
		}
		child := fmt.Sprintf("%s[%d]", path, i)
		d.lines[child] = item.Line
		if err := d.decode(item, elem, child); err != nil {
			return err
		}
	}
	v.Set(out)
	return nil
}

func (d *nodeDecoder) decodeMap(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return nodeError(n, path, "must be a mapping, not %s", describe(n))
	}
	pairs, err := d.pairs(n, path)
	if err != nil || len(pairs) == 0 { // empty is nil: both mean "none" and omitempty drops both
		v.SetZero()
		return err
	}
	out := reflect.MakeMapWithSize(v.Type(), len(pairs))
	for _, p := range pairs {
		child := mapKey(path, p.name)
		d.lines[child] = p.key.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		if err := d.decode(p.value, elem, child); err != nil {
			return err
		}
		out.SetMapIndex(reflect.ValueOf(p.name), elem)
	}
	v.Set(out)
	return nil
}

// decodeVerbatim keeps a free-form mapping (kazoo:) as generic values:
// map[string]any, []any and scalars. Keys become strings even when written
// as numbers (Kazoo's slots are keyed "701"), so the value always encodes
// as JSON, which is what Kazoo data is.
func (d *nodeDecoder) decodeVerbatim(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind != yaml.MappingNode {
		return nodeError(n, path, "must be a mapping, not %s", describe(n))
	}
	val, err := d.verbatim(n, path, 0)
	if err != nil {
		return err
	}
	if m := val.(map[string]any); len(m) > 0 { // empty is nil, as in decodeMap
		v.Set(reflect.ValueOf(m))
	} else {
		v.SetZero()
	}
	return nil
}

// maxVerbatimDepth bounds nesting in free-form data; it also ends alias
// cycles (&a [*a]), which would otherwise nest forever.
const maxVerbatimDepth = 64

func (d *nodeDecoder) verbatim(n *yaml.Node, path string, depth int) (any, error) {
	if err := d.spend(n, path, 1); err != nil {
		return nil, err
	}
	if depth > maxVerbatimDepth {
		return nil, nodeError(n, path, "nested more than %d levels deep (an alias that contains itself?)", maxVerbatimDepth)
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, nodeError(n, path, "alias *%s has no anchor", n.Value)
		}
		return d.verbatim(n.Alias, path, depth+1)
	case yaml.MappingNode:
		pairs, err := d.pairs(n, path)
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, len(pairs))
		for _, p := range pairs {
			if m[p.name], err = d.verbatim(p.value, mapKey(path, p.name), depth+1); err != nil {
				return nil, err
			}
		}
		return m, nil
	case yaml.SequenceNode:
		list := make([]any, len(n.Content))
		for i, item := range n.Content {
			var err error
			if list[i], err = d.verbatim(item, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return nil, err
			}
		}
		return list, nil
	}
	return verbatimScalar(n, path)
}

// verbatimScalar decodes one scalar the way YAML types it (int, float,
// bool, string, null), refusing what JSON cannot carry.
func verbatimScalar(n *yaml.Node, path string) (any, error) {
	var val any
	if err := n.Decode(&val); err != nil {
		return nil, nodeError(n, path, "%s", yamlTypeMessage(err))
	}
	switch x := val.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, nodeError(n, path, "%s is not a number JSON can carry", describe(n))
		}
	case nil, bool, int, int64, uint64, string:
	default:
		return n.Value, nil // timestamps and the like stay as written
	}
	return val, nil
}

// pair is one key of a mapping, after merge keys (<<) are resolved.
type pair struct {
	name       string
	key, value *yaml.Node
}

// pairs lists a mapping's keys in order, refusing duplicates. Keys merged
// in with "<<: *anchor" come after, and lose to keys written out (YAML
// merge semantics: shallow, explicit wins, earlier merge source wins).
func (d *nodeDecoder) pairs(n *yaml.Node, path string) ([]pair, error) {
	if err := d.spend(n, path, len(n.Content)); err != nil {
		return nil, err
	}
	var own, merged []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			m, err := d.mergeSources(val, path)
			if err != nil {
				return nil, err
			}
			merged = append(merged, m...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, nodeError(k, path, "keys must be plain names, not %s", kindName(k))
		}
		if first, dup := seen[k.Value]; dup {
			return nil, nodeError(k, joinKey(path, k.Value), "given twice (first on line %d)", first)
		}
		seen[k.Value] = k.Line
		own = append(own, pair{k.Value, k, val})
	}
	for _, p := range merged {
		if _, ok := seen[p.name]; !ok {
			seen[p.name] = p.key.Line
			own = append(own, p)
		}
	}
	return own, nil
}

// mergeSources returns the pairs a "<<" value brings: one mapping or a list
// of them, usually aliases.
func (d *nodeDecoder) mergeSources(n *yaml.Node, path string) ([]pair, error) {
	if err := d.spend(n, path, 1); err != nil {
		return nil, err
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return d.mergeSources(n.Alias, path)
	}
	switch n.Kind {
	case yaml.MappingNode:
		return d.pairs(n, path)
	case yaml.SequenceNode:
		var all []pair
		for _, item := range n.Content {
			if item.Kind == yaml.SequenceNode {
				return nil, nodeError(item, path, "<< merges mappings, not lists of lists")
			}
			p, err := d.mergeSources(item, path)
			if err != nil {
				return nil, err
			}
			all = append(all, p...)
		}
		return all, nil
	}
	return nil, nodeError(n, path, "<< merges a mapping or a list of mappings, not %s", describe(n))
}

// lineOf returns the line of key, or of its nearest ancestor written in the
// file (a missing required key points at its lot), 0 if none.
func (d *nodeDecoder) lineOf(key string) int {
	for i := len(key); i > 0; i-- {
		if i < len(key) && key[i] != '.' && key[i] != '[' {
			continue
		}
		if line, ok := d.lines[key[:i]]; ok {
			return line
		}
	}
	return 0
}

// yamlFields maps a struct's yaml key names to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = i
		}
	}
	return fields
}

func unknownKey(p pair, path string, fields map[string]int) error {
	msg := fmt.Sprintf("unknown key %q", p.name)
	if path != "" {
		msg += " in " + path
	}
	if s := closestKey(p.name, fields); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return &ConfigError{Key: joinKey(path, p.name), Msg: msg, Line: p.key.Line, msgNamesKey: true}
}

// closestKey suggests a known key within two edits of a mistyped one.
func closestKey(name string, fields map[string]int) string {
	best, bestDist := "", 3
	for k := range fields {
		if dist := editDistance(name, k); dist < bestDist || (dist == bestDist && k < best) {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance, for short key names only.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30 // not a typo of a key, and keeps fuzzed input cheap
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a single value"
}

// describe shows a value in an error: scalars quoted, others by kind.
func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return strconv.Quote(v)
	}
	return kindName(n)
}

func nodeError(n *yaml.Node, key, format string, args ...any) error {
	return &ConfigError{Key: key, Line: n.Line, Msg: fmt.Sprintf(format, args...)}
}

// yamlTypeMessage drops yaml.v3's "yaml: unmarshal errors:\n  line N:"
// wrapping; our error carries the line itself.
func yamlTypeMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
			msg = rest
		}
		return msg
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// mapKey adds a map key to a path: plain keys (slot numbers) as ".701",
// anything odd quoted so the path stays unambiguous.
func mapKey(path, key string) string {
	if key != "" && strings.IndexFunc(key, func(r rune) bool {
		return !(r < utf8.RuneSelf && (isAlnum(byte(r)) || strings.ContainsRune("_-*#+", r)))
	}) < 0 {
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// -------------------------------------------------------------- validation

// maxProblems stops a hopeless file from producing thousands of errors.
const maxProblems = 100

// checker collects problems, one per key, in the order checked.
type checker struct {
	errs []*ConfigError
	keys map[string]bool
}

func (ck *checker) add(key, format string, args ...any) {
	if len(ck.errs) >= maxProblems || ck.keys[key] {
		return
	}
	if ck.keys == nil {
		ck.keys = map[string]bool{}
	}
	ck.keys[key] = true
	ck.errs = append(ck.errs, &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// addErr records err under key unless it is nil.
func (ck *checker) addErr(key string, err error) {
	if err != nil {
		ck.add(key, "%v", err)
	}
}

func (ck *checker) addPolicy(errs []*PolicyError) {
	for _, e := range errs {
		ck.add(e.Key, "%s", e.Msg)
	}
}

// Validate checks everything and returns the first problem as a
// *ConfigError, nil if there is none.
func (c Config) Validate() error {
	if errs := c.Problems(); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// Problems returns every problem found (up to 100), in file order as far
// as practical: sip, rtp, api, blf, data, moh, defaults, lots.
func (c Config) Problems() []*ConfigError {
	ck := &checker{}
	c.checkSIP(ck)
	c.checkRTP(ck)
	c.checkAPI(ck)
	c.checkBLF(ck)
	c.checkPaths(ck)
	ck.addPolicy(c.Defaults.problems("defaults", 0))
	checkComplete(ck, "defaults", c.Defaults, c.Defaults.Over(BuiltinPolicy()))
	c.checkLots(ck)
	c.checkRingGroups(ck)
	return ck.errs
}

func (c Config) checkSIP(ck *checker) {
	if len(c.SIP.Listen) == 0 {
		ck.add("sip.listen", `at least one URI is required, like "udp://127.0.0.1:5060"`)
	}
	seen := map[ListenAddr]int{}
	for i, u := range c.SIP.Listen {
		key := fmt.Sprintf("sip.listen[%d]", i)
		la, err := parseListen(u)
		if err != nil {
			ck.addErr(key, err)
			continue
		}
		if j, dup := seen[la]; dup && !strings.HasSuffix(la.Addr, ":0") {
			ck.add(key, "same address as sip.listen[%d]", j)
		}
		seen[la] = i
	}
	for i, a := range c.SIP.Allow {
		_, err := parseAllow(a)
		ck.addErr(fmt.Sprintf("sip.allow[%d]", i), err)
	}
	if c.SIP.Advertise != "" {
		ck.addErr("sip.advertise", checkHost(c.SIP.Advertise))
	}
	if c.SIP.OutboundProxy != "" {
		ck.addErr("sip.outbound_proxy", checkProxy(c.SIP.OutboundProxy))
	}
	for i, h := range c.SIP.ParkerHeaders {
		ck.addErr(fmt.Sprintf("sip.parker_headers[%d]", i), checkHeaderName(h))
	}
	ck.addErr("sip.recall_alert_info", checkText(c.SIP.RecallAlertInfo))
	c.checkAuth(ck)
	c.checkLimits(ck)
}

// checkHeaderName accepts a SIP header name (an RFC 3261 token).
func checkHeaderName(h string) error {
	if h == "" {
		return errors.New(`must be a header name, like "Diversion"`)
	}
	for _, r := range h {
		if !(r < 0x7f && (isAlnum(byte(r)) || strings.ContainsRune("-.!%*_+`'~", r))) {
			return fmt.Errorf("%q is not a SIP header name (letters, digits and -.!%%*_+`'~)", h)
		}
	}
	return nil
}

func (c Config) checkRTP(ck *checker) {
	if _, err := netip.ParseAddr(c.RTP.Address); err != nil {
		ck.add("rtp.address", "%q is not an IP address", c.RTP.Address)
	}
	_, _, err := parsePortRange(c.RTP.Ports)
	ck.addErr("rtp.ports", err)
	checkEnum(ck.add, "rtp.latch", &c.RTP.Latch, latchValues)
	switch t := c.RTP.Timeout.D(); {
	case t < 0:
		ck.add("rtp.timeout", "must not be negative (got %s)", c.RTP.Timeout)
	case t > 0 && t < minRTPTimeout:
		ck.add("rtp.timeout", "must be 0 (off) or at least %s (got %s)", Duration(minRTPTimeout), c.RTP.Timeout)
	}
}

func (c Config) checkAPI(ck *checker) {
	if (c.API.TLS.Cert == "") != (c.API.TLS.Key == "") {
		ck.add("api.tls", "needs both cert and key (PEM files), or neither")
	}
	if c.API.Listen == "" {
		return // API disabled
	}
	_, _, err := splitListenHostPort(c.API.Listen)
	ck.addErr("api.listen", err)
}

// checkQueueOverflow accepts hangup or forward:<sip uri>.
func checkQueueOverflow(v string) error {
	if v == "" || v == QueueOverflowHangup {
		return nil
	}
	if target, ok := strings.CutPrefix(v, QueueOverflowForward+":"); ok {
		return checkSIPURI(target)
	}
	return fmt.Errorf("%q is not %q or %q", v, QueueOverflowHangup, QueueOverflowForward+":<sip uri>")
}

// checkRingGroups: each named group is a non-empty list of SIP URIs.
func (c Config) checkRingGroups(ck *checker) {
	for name, uris := range c.RingGroups {
		key := mapKey("ring_groups", name)
		if !lotNameRE.MatchString(name) {
			ck.add(key, "group names must be 1–64 of a-z, 0-9, _ and - (got %q)", name)
		}
		if len(uris) == 0 {
			ck.add(key, "lists no SIP URI")
		}
		for i, u := range uris {
			ck.addErr(fmt.Sprintf("%s[%d]", key, i), checkSIPURI(u))
		}
	}
}

func (c Config) checkPaths(ck *checker) {
	if c.Data == "" {
		ck.add("data", "must name a directory")
	}
	ck.addErr("data", checkText(c.Data))
	if c.MOH == "" {
		ck.add("moh", `must be "builtin" or a WAV file path`)
	}
	ck.addErr("moh", checkText(c.MOH)) // the file itself is opened by the daemon
}

// checkComplete checks what only the merged policy can tell: on_failure:
// forward needs a forward_to from some layer. It looks only when this
// layer touches either key, so an inherited problem is reported once, at
// the layer that caused it.
func checkComplete(ck *checker, path string, layer, merged Policy) {
	for _, e := range merged.incomplete(path, layer) {
		ck.add(e.Key, "%s", e.Msg)
	}
}

func lotKey(i int) string { return fmt.Sprintf("lots[%d]", i) }

func (c Config) checkLots(ck *checker) {
	switch {
	case len(c.Lots) == 0:
		ck.add("lots", "at least one lot is required")
		return
	case len(c.Lots) > maxLots:
		ck.add("lots", "at most %d lots (got %d)", maxLots, len(c.Lots))
		return
	}
	names := map[string]int{}
	for i, l := range c.Lots {
		l.check(ck, lotKey(i))
		if j, dup := names[l.Name]; dup && l.Name != "" {
			ck.add(lotKey(i)+".name", "%q is already the name of lots[%d]", l.Name, j)
		} else {
			names[l.Name] = i
		}
	}
	c.checkNumbers(ck)
	c.checkOverflow(ck, names)
	c.checkLotPolicies(ck)
}

var lotNameRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// check validates one lot on its own; checkNumbers and checkOverflow look
// across lots.
func (l LotConfig) check(ck *checker, key string) {
	if !lotNameRE.MatchString(l.Name) {
		ck.add(key+".name", "must be 1–64 of a-z, 0-9, _ and - (got %q)", l.Name)
	}
	if l.Extension == "" {
		ck.add(key+".extension", `is required (the number that parks, like "700")`)
	}
	ck.addErr(key+".extension", checkDialString(l.Extension))
	if l.RetrieveExtension != "" {
		ck.addErr(key+".retrieve_extension", checkDialString(l.RetrieveExtension))
	}
	if l.Slots == "" {
		ck.add(key+".slots", `is required (a range like "701-720")`)
	}
	_, _, _, err := parseSlots(l.Slots)
	ck.addErr(key+".slots", err)
	checkEnum(ck.add, key+".find_slot", &l.FindSlot, findSlotValues)
	checkEnum(ck.add, key+".slot_action", &l.SlotAction, slotActionValues)
	ck.addErr(key+".when_full", checkWhenFull(l.WhenFull))
	checkEnum(ck.add, key+".transfer_to_occupied", &l.TransferToOccupied, transferValues)
	if l.NotifyParker != "" { // "" is message, as for a lot built in Go
		checkEnum(ck.add, key+".notify_parker", &l.NotifyParker, notifyValues)
	}
	l.checkTransfer(ck, key)
	if a := l.AttendantExtension; a != "" && checkDialString(a) != nil && checkSIPURI(a) != nil {
		ck.add(key+".attendant_extension", "%q is neither a dial string nor a sip: URI", a)
	}
	if l.Operator != "" {
		ck.addErr(key+".operator", checkSIPURI(l.Operator))
	}
	if l.QueueMax < 0 || l.QueueMax > maxQueue {
		ck.add(key+".queue_max", "must be between 1 and %d, or 0 for the default %d (got %d)", maxQueue, DefaultQueueMax, l.QueueMax)
	}
	if l.QueueTimeout < 0 || l.QueueTimeout.D() > maxQueueTimeout {
		ck.add(key+".queue_timeout", "must be between 0s (no limit) and %s (got %s)", Duration(maxQueueTimeout), l.QueueTimeout)
	}
	ck.addErr(key+".queue_overflow", checkQueueOverflow(l.QueueOverflow))
	if l.AnswerDelay < 0 || l.AnswerDelay.D() > maxAnswerDelay {
		ck.add(key+".answer_delay", "must be between 0s and %s (got %s)", Duration(maxAnswerDelay), l.AnswerDelay)
	}
	ck.addPolicy(l.Policy.problems(key+".policy", 0))
	l.checkSlotPolicies(ck, key)
	l.checkKazoo(ck, key)
	l.checkRetrieveAllow(ck, key)
}

// checkKazoo maps the lot's kazoo: object; its errors name Kazoo's keys.
func (l LotConfig) checkKazoo(ck *checker, key string) {
	if len(l.Kazoo) == 0 {
		return
	}
	first, _, _, err := parseSlots(l.Slots)
	kz, errs := ParseKazoo(l.Kazoo, key+".kazoo", l.hasSlot)
	ck.addPolicy(errs)
	if err == nil && kz.MaxSlot > 0 && kz.MaxSlot < first {
		ck.add(key+".kazoo.max_slot_number", "%d leaves no slot of %s to park in", kz.MaxSlot, l.Slots)
	}
}

// hasSlot reports whether name is one of the lot's slot numbers (false
// for every name when the range itself is bad).
func (l LotConfig) hasSlot(name string) bool {
	first, last, width, err := parseSlots(l.Slots)
	n, convErr := strconv.Atoi(name)
	return err == nil && convErr == nil && isDigits(name) && len(name) == width && n >= first && n <= last
}

// parkSettings is how a lot parks once its kazoo: object is applied: the
// slot action (Kazoo's action wins over slot_action, so a pasted Kazoo
// object behaves as it did in Kazoo), a fixed slot for the park extension
// (Kazoo's slot) and the slots in use (Kazoo's max_slot_number cuts the
// range).
func (l LotConfig) parkSettings(kz KazooPark) (action, fixedSlot string, slots []string) {
	action = l.SlotAction
	if kz.Action != "" {
		action = kz.Action
	}
	for _, name := range l.SlotNames() {
		if n, err := strconv.Atoi(name); kz.MaxSlot > 0 && err == nil && n > kz.MaxSlot {
			continue
		}
		slots = append(slots, name)
	}
	return action, kz.Slot, slots
}

func (l LotConfig) checkSlotPolicies(ck *checker, key string) {
	if len(l.SlotPolicies) == 0 {
		return
	}
	_, _, _, rangeErr := parseSlots(l.Slots)
	for _, name := range slices.Sorted(maps.Keys(l.SlotPolicies)) {
		path := mapKey(key+".slot_policies", name)
		if rangeErr == nil && !l.hasSlot(name) { // a bad range is reported under .slots already
			ck.add(path, "%q is not a slot of this lot (slots %q)", name, l.Slots)
		}
		ck.addPolicy(l.SlotPolicies[name].problems(path, 0))
	}
}

// checkLotPolicies checks the merged policy of every lot and slot layer.
func (c Config) checkLotPolicies(ck *checker) {
	base := c.Defaults.Over(BuiltinPolicy())
	for i, l := range c.Lots {
		lotPolicy := l.Policy.Over(base)
		checkComplete(ck, lotKey(i)+".policy", l.Policy, lotPolicy)
		for _, name := range slices.Sorted(maps.Keys(l.SlotPolicies)) {
			sp := l.SlotPolicies[name]
			checkComplete(ck, mapKey(lotKey(i)+".slot_policies", name), sp, sp.Over(lotPolicy))
		}
	}
}

// checkNumbers makes every dialled number mean one thing: slot ranges must
// not overlap, and no extension may equal another extension or any slot.
func (c Config) checkNumbers(ck *checker) {
	spans := make([]span, len(c.Lots))
	owner := map[string]numberOwner{}
	for i, l := range c.Lots {
		first, last, width, err := parseSlots(l.Slots)
		if err != nil {
			continue
		}
		spans[i] = span{first, last, width}
		if j := overlapping(spans[:i], spans[i]); j >= 0 {
			ck.add(lotKey(i)+".slots", "range %q overlaps lots[%d].slots %q (lot %q)", l.Slots, j, c.Lots[j].Slots, c.Lots[j].Name)
			continue // its numbers are reported; registering them again costs time for nothing
		}
		for _, s := range l.SlotNames() {
			owner[s] = numberOwner{lot: i, key: "slots"}
		}
	}
	for i, l := range c.Lots {
		for _, f := range []struct{ key, num string }{
			{"extension", l.Extension},
			{"retrieve_extension", l.RetrieveExtension},
			{"attendant_extension", l.AttendantExtension},
		} {
			if f.num == "" || checkDialString(f.num) != nil {
				continue
			}
			if o, taken := owner[f.num]; taken {
				ck.add(lotKey(i)+"."+f.key, "%q is already %s", f.num, o.describe(c, f.num))
				continue
			}
			owner[f.num] = numberOwner{lot: i, key: f.key}
		}
	}
}

// numberOwner is who dials a number: lots[lot].<key>.
type numberOwner struct {
	lot int
	key string // slots, extension or retrieve_extension
}

func (o numberOwner) describe(c Config, num string) string {
	name := c.Lots[o.lot].Name
	if o.key == "slots" {
		return fmt.Sprintf("slot %s of lot %q (%s.slots)", num, name, lotKey(o.lot))
	}
	return fmt.Sprintf("the %s of lot %q (%s.%s)", o.key, name, lotKey(o.lot), o.key)
}

// span is a parsed slot range; width 0 when it did not parse.
type span struct{ first, last, width int }

// overlapping returns the index of the first span that shares a number
// with s, or -1. Ranges of different widths never share a dial string.
func overlapping(spans []span, s span) int {
	for j, o := range spans {
		if o.width == s.width && s.first <= o.last && o.first <= s.last {
			return j
		}
	}
	return -1
}

// checkOverflow: an overflow target must be another lot, and following
// overflows must end somewhere — a loop would bounce a call forever.
func (c Config) checkOverflow(ck *checker, names map[string]int) {
	next := make([]int, len(c.Lots)) // overflow target index, -1 for none
	for i, l := range c.Lots {
		next[i] = -1
		action, target := l.WhenFullRule()
		if action != WhenFullOverflow {
			continue
		}
		j, ok := names[target]
		switch {
		case !ok:
			ck.add(lotKey(i)+".when_full", "overflow target %q is not a lot", target)
		case j == i:
			ck.add(lotKey(i)+".when_full", "lot %q overflows to itself", target)
		default:
			next[i] = j
		}
	}
	for i := range c.Lots {
		chain := []string{c.Lots[i].Name}
		for j, steps := next[i], 0; j >= 0 && steps < len(c.Lots); j, steps = next[j], steps+1 {
			chain = append(chain, c.Lots[j].Name)
			if j == i {
				ck.add(lotKey(i)+".when_full", "overflow loop: %s", strings.Join(chain, " → "))
				break
			}
		}
	}
}

// WhenFullRule splits when_full into its action (reject, overflow,
// forward) and target (a lot name or SIP URI; "" for reject).
func (l LotConfig) WhenFullRule() (action, target string) {
	action, target, _ = strings.Cut(l.WhenFull, ":")
	return action, target
}

func checkWhenFull(s string) error {
	action, target, hasTarget := strings.Cut(s, ":")
	switch {
	case s == WhenFullReject:
		return nil
	case action == WhenFullOverflow && hasTarget && target != "":
		return nil // the target is checked against the lots
	case action == WhenFullForward && hasTarget:
		return checkSIPURI(target)
	}
	return fmt.Errorf("must be reject, overflow:<lot name> or forward:<sip uri> (got %q)", s)
}

// ------------------------------------------------------ numbers and ranges

// SlotRange returns the parsed slot range and the digit width of its
// numbers (2 for "01-20"). All zero when the range does not parse;
// Validate says why.
func (l LotConfig) SlotRange() (first, last int, width int) {
	first, last, width, err := parseSlots(l.Slots)
	if err != nil {
		return 0, 0, 0
	}
	return first, last, width
}

// SlotNames lists the lot's slot numbers as dialled: "701".."720", or
// zero-padded "01".."20". Nil when the range does not parse.
func (l LotConfig) SlotNames() []string {
	first, last, width := l.SlotRange()
	if width == 0 {
		return nil
	}
	names := make([]string, 0, last-first+1)
	for n := first; n <= last; n++ {
		names = append(names, fmt.Sprintf("%0*d", width, n))
	}
	return names
}

// parseSlots reads "701-720" (or one number, "701"). Both ends have the
// same digit count so that every slot is dialled with as many digits.
func parseSlots(s string) (first, last, width int, err error) {
	lo, hi, isRange := strings.Cut(s, "-")
	lo = strings.TrimSpace(lo)
	hi = strings.TrimSpace(hi)
	if !isRange {
		hi = lo
	}
	if !isDigits(lo) || !isDigits(hi) {
		return 0, 0, 0, fmt.Errorf(`%q is not a range of slot numbers like "701-720"`, s)
	}
	if len(lo) != len(hi) {
		return 0, 0, 0, fmt.Errorf(`range %q: both ends need the same number of digits (zero-pad: "01-20")`, s)
	}
	if len(lo) > maxSlotDigits {
		return 0, 0, 0, fmt.Errorf("range %q: slot numbers have at most %d digits", s, maxSlotDigits)
	}
	first, _ = strconv.Atoi(lo)
	last, _ = strconv.Atoi(hi)
	if first > last {
		return 0, 0, 0, fmt.Errorf("range %q is reversed", s)
	}
	if n := last - first + 1; n > maxSlotsPerLot {
		return 0, 0, 0, fmt.Errorf("range %q has %d slots; at most %d", s, n, maxSlotsPerLot)
	}
	return first, last, len(lo), nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// checkDialString: what a phone can dial, 1–64 of 0-9 * #, with a digit.
func checkDialString(s string) error {
	if s == "" || len(s) > maxDialString || strings.Trim(s, "0123456789*#") != "" || strings.Trim(s, "*#") == "" {
		return fmt.Errorf("%q is not a dial string (1–%d of 0-9, * and #, with a digit)", s, maxDialString)
	}
	return nil
}

// RTPPortRange parses rtp.ports. Both even and odd ends are fine (the
// allocator picks even ports for RTP); at least two ports are needed.
func (c Config) RTPPortRange() (low, high int, err error) {
	low, high, err = parsePortRange(c.RTP.Ports)
	if err != nil {
		return 0, 0, &ConfigError{Key: "rtp.ports", Msg: err.Error()}
	}
	return low, high, nil
}

func parsePortRange(s string) (low, high int, err error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok || !isDigits(lo) || !isDigits(hi) || len(lo) > 5 || len(hi) > 5 {
		return 0, 0, fmt.Errorf(`%q is not a port range like "20000-20999"`, s)
	}
	low, _ = strconv.Atoi(lo)
	high, _ = strconv.Atoi(hi)
	switch {
	case low < 1024 || high > 65535:
		return 0, 0, fmt.Errorf("ports must be within 1024-65535 (got %q)", s)
	case low > high:
		return 0, 0, fmt.Errorf("range %q is reversed", s)
	case high-low+1 < 2:
		return 0, 0, fmt.Errorf("range %q needs at least 2 ports", s)
	}
	return low, high, nil
}

// ------------------------------------------------------ addresses and URIs

// ListenURIs parses sip.listen.
func (c Config) ListenURIs() ([]ListenAddr, error) {
	out := make([]ListenAddr, 0, len(c.SIP.Listen))
	for i, u := range c.SIP.Listen {
		la, err := parseListen(u)
		if err != nil {
			return nil, &ConfigError{Key: fmt.Sprintf("sip.listen[%d]", i), Msg: err.Error()}
		}
		out = append(out, la)
	}
	return out, nil
}

func parseListen(s string) (ListenAddr, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return ListenAddr{}, fmt.Errorf(`%q is not a URI like "udp://127.0.0.1:5060"`, s)
	}
	network := strings.ToLower(scheme)
	if network != "udp" && network != "tcp" {
		return ListenAddr{}, fmt.Errorf("scheme %q is not supported in %q (use udp:// or tcp://)", scheme, s)
	}
	host, port, err := splitListenHostPort(strings.TrimSuffix(rest, "/"))
	if err != nil {
		return ListenAddr{}, err
	}
	return ListenAddr{Network: network, Addr: net.JoinHostPort(host, strconv.Itoa(port))}, nil
}

// splitListenHostPort reads a listening host:port. An empty host means
// every interface; port 0 picks a free port (tests use it).
func splitListenHostPort(s string) (host string, port int, err error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port", s)
	}
	port, err = parsePort(p, 0)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %v", s, err)
	}
	if host != "" {
		if err := checkHost(host); err != nil {
			return "", 0, err
		}
	}
	return host, port, nil
}

func parsePort(p string, lowest int) (int, error) {
	n, err := strconv.Atoi(p)
	if !isDigits(p) || len(p) > 5 || err != nil || n < lowest || n > 65535 {
		return 0, fmt.Errorf("port %q is not a number in %d-65535", p, lowest)
	}
	return n, nil
}

// AllowNets parses sip.allow. A bare IP is a single-address prefix; host
// bits are masked off ("10.1.2.3/8" is 10.0.0.0/8).
func (c Config) AllowNets() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(c.SIP.Allow))
	for i, a := range c.SIP.Allow {
		p, err := parseAllow(a)
		if err != nil {
			return nil, &ConfigError{Key: fmt.Sprintf("sip.allow[%d]", i), Msg: err.Error()}
		}
		out = append(out, p)
	}
	return out, nil
}

func parseAllow(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a network like 10.0.0.0/8 or an IP address", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not a network like 10.0.0.0/8 or an IP address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// checkHost accepts an IP address or a DNS host name (no port, no
// brackets). A name whose last label is numeric is a mistyped IP.
func checkHost(h string) error {
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	bad := fmt.Errorf("%q is not an IP address or host name", h)
	name := strings.TrimSuffix(h, ".")
	if name == "" || len(name) > 253 {
		return bad
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' ||
			strings.IndexFunc(l, func(r rune) bool { return !(r < utf8.RuneSelf && (isAlnum(byte(r)) || r == '-' || r == '_')) }) >= 0 {
			return bad
		}
	}
	if isDigits(labels[len(labels)-1]) {
		return bad
	}
	return nil
}

// checkHostOptionalPort accepts host, host:port, [v6] or [v6]:port, as in
// the host part of a SIP URI.
func checkHostOptionalPort(s string) error {
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return fmt.Errorf("%q has an unclosed [", s)
		}
		host, port = s[1:end], s[end+1:]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return fmt.Errorf("%q is not an IPv6 address", host)
		}
		if port != "" {
			if !strings.HasPrefix(port, ":") {
				return fmt.Errorf("%q: unexpected text after ]", s)
			}
			_, err := parsePort(port[1:], 1)
			return err
		}
		return nil
	}
	if strings.Count(s, ":") == 1 {
		host, port, _ = strings.Cut(s, ":")
		if _, err := parsePort(port, 1); err != nil {
			return err
		}
	}
	return checkHost(host)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// checkSIPURI accepts sip:[user@]host[:port][;params][?headers] and the
// same with sips:, checking the host part. It is a sanity check for typos,
// not a full RFC 3261 parser.
func checkSIPURI(s string) error {
	rest, ok := cutPrefixFold(s, "sip:")
	if !ok {
		rest, ok = cutPrefixFold(s, "sips:")
	}
	if !ok {
		return fmt.Errorf("%q is not a sip: or sips: URI", s)
	}
	if strings.ContainsAny(s, " <>\"") || checkText(s) != nil {
		return fmt.Errorf("%q: a SIP URI has no spaces, quotes, <> or control characters", s)
	}
	rest, _, _ = strings.Cut(rest, "?")
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if at == 0 {
			return fmt.Errorf("%q has an empty user part", s)
		}
		rest = rest[at+1:]
	}
	hostport, _, _ := strings.Cut(rest, ";")
	if err := checkHostOptionalPort(hostport); err != nil {
		return fmt.Errorf("%q: %v", s, err)
	}
	return nil
}

// checkProxy accepts a SIP URI or host[:port].
func checkProxy(s string) error {
	if _, ok := cutPrefixFold(s, "sip:"); ok {
		return checkSIPURI(s)
	}
	if _, ok := cutPrefixFold(s, "sips:"); ok {
		return checkSIPURI(s)
	}
	if err := checkHostOptionalPort(s); err != nil {
		return fmt.Errorf("must be a sip: URI or host[:port]: %v", err)
	}
	return nil
}

// checkText refuses what would corrupt a log line or a SIP header.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("must be valid UTF-8")
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }) >= 0 {
		return errors.New("must not contain control characters or line breaks")
	}
	return nil
}

// EffectivePolicy is the merged policy of a slot of lot i (slot "" for
// the lot itself) from the config file: built-in < defaults < lot (its
// kazoo: object under its policy:) < slot. Live overrides go on top in the
// Server.
func (c Config) EffectivePolicy(lot int, slot string) Policy {
	p, _ := merge(c.configLayers(lot, slot))
	return p
}
