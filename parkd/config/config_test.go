package config

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// designExample is the YAML of DESIGN.md "Config file", with `data:` made
// absolute so the test does not depend on $HOME.
const designExample = `
sip:
  listen: ["udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"]
  advertise: ""                  # address for SDP/Contact behind NAT
  outbound_proxy: ""             # where recalls and originated calls go
  allow: ["127.0.0.0/8"]         # source networks that may use parkd
rtp: {address: 127.0.0.1, ports: "20000-20999", timeout: 60s}
api: {listen: "127.0.0.1:7080"}
data: /var/lib/parkd             # ($XDG_STATE_HOME/parkd) SQLite store and the API token file ` + "`token`" + `
moh: builtin                     # or a WAV file
defaults:                        # policy for every lot and slot
  recall_after: 45s
  ring_parker_for: 30s
  recall_to: parker_then_group   # parker_only | parker_then_group | group_only
  ring_group: []                 # SIP URIs rung together
  ring_group_for: 30s
  on_failure: repark             # repark | hangup | forward
  forward_to: ""                 # the URI for on_failure: forward
  max_recalls: 3
  presence_type: early           # early | confirmed
lots:
  - name: main
    extension: "700"             # also reachable as "park"
    retrieve_extension: "*700"   # longest-waiting call
    slots: "701-720"
    find_slot: first             # first | next
    slot_action: auto            # park | direct_park | retrieve | auto
    when_full: reject            # reject | overflow:<lot> | forward:<uri>
    transfer_to_occupied: reject # reject (486) | next_free
    attendant_extension: "0"
    operator: ""                 # the receptionist's phone URI
    policy: {}                   # same keys as defaults
    slot_policies: {"701": {recall_after: 10s}}
    kazoo: {}                    # a Kazoo park data object, verbatim
`

// fullConfig sets every key to something other than its default.
const fullConfig = `
sip:
  listen: ["udp://0.0.0.0:5070", "TCP://[::1]:5071", "udp://:0"]
  advertise: pbx.example.com
  outbound_proxy: "sip:proxy.example.com:5060;lr"
  allow: ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"]
rtp: {address: 0.0.0.0, ports: "30000-30100", timeout: 0}
api: {listen: ""}
data: ~/parkd-state
moh: /srv/moh/jazz.wav
defaults:
  recall_after: 2m
  ring_parker_for: 20s
  recall_to: group_only
  ring_group: ["sip:201@pbx", "sips:202@pbx.example.com:5061"]
  ring_group_for: 15s
  on_failure: forward
  forward_to: "sip:operator@pbx"
  max_recalls: 0
  presence_type: confirmed
  presence_id: "lot@pbx"
  moh: /srv/moh/classic.wav
lots:
  - name: sales
    extension: "*80"
    retrieve_extension: "#80"
    slots: "01-20"
    find_slot: next
    slot_action: direct_park
    when_full: overflow:support
    transfer_to_occupied: next_free
    attendant_extension: "sip:reception@pbx"
    operator: "sip:100@pbx"
    answer_delay: 2s
    policy: {recall_after: 30s, recall_to: parker_only, ring_group: []}
    slot_policies:
      "01": {on_failure: hangup}
    kazoo: {slots: {"01": {ringback_timeout: 30000}}, default_presence_type: early}
  - name: support
    extension: "900"
    slots: "901-910"
    slot_action: retrieve
    when_full: "forward:sip:voicemail@pbx"
`

func mustParse(t *testing.T, text string) Config {
	t.Helper()
	cfg, err := ParseConfig([]byte(text))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	return cfg
}

func setHome(t *testing.T, home, xdg string) {
	t.Helper()
	t.Setenv("HOME", home)
	t.Setenv("XDG_STATE_HOME", xdg)
}

func TestDefaultConfigMatchesDesign(t *testing.T) {
	setHome(t, "/home/rita", "")
	want := Config{
		SIP: SIPConfig{
			Listen:          []string{"udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"},
			Allow:           []string{"127.0.0.0/8"},
			RecallAlertInfo: "<urn:alert:service:recall:transfer>",
			Auth:            AuthConfig{Realm: "parkd", NonceLifetime: Duration(5 * time.Minute)},
			TCP: TCPLimits{MaxConnections: 10000, MaxPerSource: 200,
				IdleTimeout: Duration(5 * time.Minute), MessageTimeout: Duration(10 * time.Second)},
			RateLimit:       RateLimit{PerSource: "200/s", Burst: 400},
			MaxTransactions: 10000,
		},
		RTP: RTPConfig{Address: "127.0.0.1", Ports: "20000-20999", Timeout: Duration(60 * time.Second), Latch: "signalling"},
		API: APIConfig{Listen: "127.0.0.1:7080"},
		BLF: BLFConfig{
			MinExpires: Duration(time.Minute), MaxExpires: Duration(time.Hour), DefaultExpires: Duration(time.Hour),
			MaxPerSource: 500, MaxTotal: 50000, NotifyTimeout: Duration(32 * time.Second),
		},
		Data: "/home/rita/.local/state/parkd",
		MOH:  "builtin",
		Defaults: Policy{
			RecallAfter:   ptr(Duration(45 * time.Second)),
			RingParkerFor: ptr(Duration(30 * time.Second)),
			RecallTo:      ptr("parker_then_group"),
			RingGroup:     []string{},
			RingGroupFor:  ptr(Duration(30 * time.Second)),
			OnFailure:     ptr("repark"),
			ForwardTo:     ptr(""),
			MaxRecalls:    ptr(3),
			PresenceType:  ptr("early"),
			PresenceID:    ptr(""),
			MOH:           ptr(""),
		},
		Lots: []LotConfig{{
			Name: "main", Extension: "700", RetrieveExtension: "*700", Slots: "701-720",
			FindSlot: "first", SlotAction: "auto", WhenFull: "reject", TransferToOccupied: "reject", QueueMax: 20, QueueTimeout: Duration(10 * time.Minute), QueueOverflow: "hangup", NotifyParker: "message",
			AnnounceSlot: ptr(true), AttendedTimeout: Duration(15 * time.Second), EmptySlot: "reject", RecallPrompt: ptr(true),
			AttendantExtension: "0",
		}},
	}
	got := DefaultConfig()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DefaultConfig() =\n%+v\nwant\n%+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if !reflect.DeepEqual(BuiltinPolicy(), want.Defaults) {
		t.Errorf("BuiltinPolicy() differs from the documented defaults")
	}
	if BuiltinPolicy().RingGroup == nil {
		t.Errorf("BuiltinPolicy().RingGroup is nil; want set and empty")
	}
}

func TestDefaultDataDir(t *testing.T) {
	tests := []struct{ home, xdg, want string }{
		{"/home/rita", "", "/home/rita/.local/state/parkd"},
		{"/home/rita", "/xdg/state", "/xdg/state/parkd"},
		{"/home/rita", "relative/state", "/home/rita/.local/state/parkd"}, // XDG says ignore relative
	}
	for _, tt := range tests {
		setHome(t, tt.home, tt.xdg)
		if got := DefaultDataDir(); got != tt.want {
			t.Errorf("HOME=%q XDG_STATE_HOME=%q: got %q, want %q", tt.home, tt.xdg, got, tt.want)
		}
	}
}

func TestParseEmptyIsDefaults(t *testing.T) {
	setHome(t, "/home/rita", "")
	for _, text := range []string{"", "\n\n", "# nothing here\n", "---\n", "~\n", "{}"} {
		got := mustParse(t, text)
		if !reflect.DeepEqual(got, DefaultConfig()) {
			t.Errorf("ParseConfig(%q) is not DefaultConfig()", text)
		}
	}
}

func TestParseDesignExample(t *testing.T) {
	setHome(t, "/home/rita", "")
	got := mustParse(t, designExample)
	want := DefaultConfig()
	want.Data = "/var/lib/parkd"
	want.Lots[0].SlotPolicies = map[string]Policy{"701": {RecallAfter: ptr(Duration(10 * time.Second))}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", got, want)
	}
	if p := got.EffectivePolicy(0, "701"); p.RecallAfter.D() != 10*time.Second || p.RingParkerFor.D() != 30*time.Second {
		t.Errorf("slot 701 policy: recall_after %v ring_parker_for %v", p.RecallAfter, p.RingParkerFor)
	}
	if p := got.EffectivePolicy(0, "702"); p.RecallAfter.D() != 45*time.Second {
		t.Errorf("slot 702 recall_after %v, want 45s", p.RecallAfter)
	}
}

func TestParseFullConfig(t *testing.T) {
	setHome(t, "/home/rita", "")
	cfg := mustParse(t, fullConfig)

	if cfg.SIP.Advertise != "pbx.example.com" || cfg.SIP.OutboundProxy != "sip:proxy.example.com:5060;lr" {
		t.Errorf("sip = %+v", cfg.SIP)
	}
	if cfg.RTP != (RTPConfig{Address: "0.0.0.0", Ports: "30000-30100", Timeout: 0, Latch: "signalling"}) {
		t.Errorf("rtp = %+v", cfg.RTP)
	}
	if cfg.API.Listen != "" || cfg.Data != "/home/rita/parkd-state" || cfg.MOH != "/srv/moh/jazz.wav" {
		t.Errorf("api %q data %q moh %q", cfg.API.Listen, cfg.Data, cfg.MOH)
	}
	d := cfg.Defaults
	if d.RecallAfter.D() != 2*time.Minute || d.RingParkerFor.D() != 20*time.Second || *d.RecallTo != "group_only" ||
		len(d.RingGroup) != 2 || d.RingGroupFor.D() != 15*time.Second || *d.OnFailure != "forward" ||
		*d.ForwardTo != "sip:operator@pbx" || *d.MaxRecalls != 0 || *d.PresenceType != "confirmed" ||
		*d.PresenceID != "lot@pbx" || *d.MOH != "/srv/moh/classic.wav" {
		t.Errorf("defaults = %s", mustYAML(t, d))
	}
	if len(cfg.Lots) != 2 {
		t.Fatalf("got %d lots, want 2", len(cfg.Lots))
	}
	sales := cfg.Lots[0]
	wantSales := LotConfig{
		Name: "sales", Extension: "*80", RetrieveExtension: "#80", Slots: "01-20",
		FindSlot: "next", SlotAction: "direct_park", WhenFull: "overflow:support", TransferToOccupied: "next_free",
		AttendantExtension: "sip:reception@pbx", Operator: "sip:100@pbx", AnswerDelay: Duration(2 * time.Second), QueueMax: 20, QueueTimeout: Duration(10 * time.Minute), QueueOverflow: "hangup", NotifyParker: "message",
		AnnounceSlot: ptr(true), AttendedTimeout: Duration(15 * time.Second), EmptySlot: "reject", RecallPrompt: ptr(true),
		Policy:       Policy{RecallAfter: ptr(Duration(30 * time.Second)), RecallTo: ptr("parker_only"), RingGroup: []string{}},
		SlotPolicies: map[string]Policy{"01": {OnFailure: ptr("hangup")}},
		Kazoo: map[string]any{
			"slots":                 map[string]any{"01": map[string]any{"ringback_timeout": 30000}},
			"default_presence_type": "early",
		},
	}
	if !reflect.DeepEqual(sales, wantSales) {
		t.Errorf("lots[0] =\n%+v\nwant\n%+v", sales, wantSales)
	}
	support := cfg.Lots[1]
	if support.FindSlot != "first" || support.TransferToOccupied != "reject" || support.RetrieveExtension != "" ||
		support.AttendantExtension != "" || support.SlotAction != "retrieve" {
		t.Errorf("lots[1] did not get the lot defaults: %+v", support)
	}
	if a, tgt := support.WhenFullRule(); a != "forward" || tgt != "sip:voicemail@pbx" {
		t.Errorf("WhenFullRule() = %q, %q", a, tgt)
	}
	if a, tgt := sales.WhenFullRule(); a != "overflow" || tgt != "support" {
		t.Errorf("WhenFullRule() = %q, %q", a, tgt)
	}

	// Layers: the lot clears the ring group, the slot changes on_failure.
	p := cfg.EffectivePolicy(0, "01")
	if *p.OnFailure != "hangup" || p.RingGroup == nil || len(p.RingGroup) != 0 || p.RecallAfter.D() != 30*time.Second {
		t.Errorf("effective policy of sales/01 = %s", mustYAML(t, p))
	}

	addrs, err := cfg.ListenURIs()
	wantAddrs := []ListenAddr{{"udp", "0.0.0.0:5070"}, {"tcp", "[::1]:5071"}, {"udp", ":0"}}
	if err != nil || !reflect.DeepEqual(addrs, wantAddrs) {
		t.Errorf("ListenURIs() = %v, %v; want %v", addrs, err, wantAddrs)
	}
	nets, err := cfg.AllowNets()
	wantNets := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.168.1.7/32"),
		netip.MustParsePrefix("2001:db8::/32"),
	}
	if err != nil || !reflect.DeepEqual(nets, wantNets) {
		t.Errorf("AllowNets() = %v, %v; want %v", nets, err, wantNets)
	}
	if lo, hi, err := cfg.RTPPortRange(); lo != 30000 || hi != 30100 || err != nil {
		t.Errorf("RTPPortRange() = %d, %d, %v", lo, hi, err)
	}
	if names := sales.SlotNames(); len(names) != 20 || names[0] != "01" || names[19] != "20" {
		t.Errorf("SlotNames() = %v", names)
	}
}

func mustYAML(t *testing.T, v any) string {
	t.Helper()
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestParseJSON(t *testing.T) {
	setHome(t, "/home/rita", "")
	// Tab-indented, as editors and jq write it: valid JSON, but YAML
	// forbids tab indentation, so the reader has to cope.
	text := "{\n\t\"sip\": {\"listen\": [\"tcp://127.0.0.1:5080\"]},\n" +
		"\t\"rtp\": {\"timeout\": \"30s\"},\n" +
		"\t\"defaults\": {\"max_recalls\": 5, \"ring_group\": [\"sip:200@pbx\"]},\n" +
		"\t\"lots\": [\n\t\t{\"name\": \"a\", \"extension\": 800, \"slots\": \"801-810\",\n" +
		"\t\t \"slot_policies\": {\"801\": {\"recall_after\": \"1m\"}},\n" +
		"\t\t \"kazoo\": {\"default_ringback_timeout\": 120000}}\n\t]\n}\n"
	cfg := mustParse(t, text)
	if got := cfg.SIP.Listen; len(got) != 1 || got[0] != "tcp://127.0.0.1:5080" {
		t.Errorf("sip.listen = %v", got)
	}
	if cfg.RTP.Timeout.D() != 30*time.Second || *cfg.Defaults.MaxRecalls != 5 || cfg.Defaults.RingGroup[0] != "sip:200@pbx" {
		t.Errorf("rtp %v defaults %s", cfg.RTP, mustYAML(t, cfg.Defaults))
	}
	if len(cfg.Lots) != 1 || cfg.Lots[0].Extension != "800" || cfg.Lots[0].SlotPolicies["801"].RecallAfter.D() != time.Minute {
		t.Errorf("lots = %+v", cfg.Lots)
	}
	if cfg.Lots[0].Kazoo["default_ringback_timeout"] != 120000 {
		t.Errorf("kazoo = %v", cfg.Lots[0].Kazoo)
	}
	// The JSON encoding of a Config reads back the same.
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	again := mustParse(t, string(out))
	if !reflect.DeepEqual(again, cfg) {
		t.Errorf("JSON round trip changed the config:\n%s", out)
	}
}

func TestLotsReplaceDefaultLot(t *testing.T) {
	cfg := mustParse(t, "lots:\n  - {name: front, extension: \"500\", slots: \"501-505\"}\n")
	want := []LotConfig{{
		Name: "front", Extension: "500", Slots: "501-505",
		FindSlot: "first", SlotAction: "auto", WhenFull: "reject", TransferToOccupied: "reject", QueueMax: 20, QueueTimeout: Duration(10 * time.Minute), QueueOverflow: "hangup", NotifyParker: "message",
		AnnounceSlot: ptr(true), AttendedTimeout: Duration(15 * time.Second), EmptySlot: "reject", RecallPrompt: ptr(true),
	}}
	if !reflect.DeepEqual(cfg.Lots, want) {
		t.Errorf("lots = %+v, want %+v", cfg.Lots, want)
	}
}

func TestParseKeepsDefaultsNotGiven(t *testing.T) {
	setHome(t, "/home/rita", "")
	cfg := mustParse(t, "sip: {advertise: 192.0.2.1}\ndefaults: {recall_after: 2m, ring_group: ~}\n")
	want := DefaultConfig()
	want.SIP.Advertise = "192.0.2.1"
	want.Defaults.RecallAfter = ptr(Duration(2 * time.Minute))
	want.Defaults.RingGroup = []string{} // cleared: back to the built-in []
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v\nwant %+v", cfg, want)
	}
	// Decoding must not have written through the shared default pointers.
	if BuiltinPolicy().RecallAfter.D() != 45*time.Second {
		t.Errorf("BuiltinPolicy was modified by parsing")
	}
}

func TestParseMergeKeys(t *testing.T) {
	cfg := mustParse(t, `
lots:
  - &base
    name: a
    extension: "100"
    slots: "101-110"
    find_slot: next
    policy: &pol {recall_after: 1m}
  - <<: *base
    name: b
    extension: "200"
    slots: "201-210"
    slot_policies: {"201": *pol}
`)
	b := cfg.Lots[1]
	if b.Name != "b" || b.FindSlot != "next" || b.Policy.RecallAfter.D() != time.Minute ||
		b.SlotPolicies["201"].RecallAfter.D() != time.Minute {
		t.Errorf("merged lot = %+v", b)
	}

	// A list of merges: the earlier source wins, a key written out wins
	// over both.
	cfg = mustParse(t, `
lots:
  - name: a
    extension: "100"
    slots: "101-110"
    policy:
      <<: [&p1 {recall_after: 1m, max_recalls: 1}, &p2 {recall_after: 2m, max_recalls: 2, on_failure: hangup}]
      max_recalls: 5
`)
	p := cfg.Lots[0].Policy
	if p.RecallAfter.D() != time.Minute || *p.MaxRecalls != 5 || *p.OnFailure != "hangup" {
		t.Errorf("merged policy = %s", mustYAML(t, p))
	}

	for _, bad := range []string{"defaults: {<<: 5}\n", "defaults: {<<: [[{}]]}\n", "defaults: {<<: {recal_after: 1m}}\n"} {
		if _, err := ParseConfig([]byte(bad)); err == nil || !strings.Contains(err.Error(), "defaults") {
			t.Errorf("ParseConfig(%q) = %v, want an error naming defaults", bad, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	lot := func(extra string) string {
		return "lots:\n  - name: main\n    extension: \"700\"\n    slots: \"701-720\"\n" + extra
	}
	twoLots := func(second string) string {
		return lot("") + "  - {name: b, " + second + "}\n"
	}
	tests := []struct {
		name, text string
		key        string // ConfigError.Key
		text2      string // more text the message must contain
	}{
		{"unknown top key", "sipp: {}\n", "sipp", `unknown key "sipp"`},
		{"unknown key in defaults", "defaults:\n  recal_after: 3s\n", "defaults.recal_after", `unknown key "recal_after" in defaults (did you mean "recall_after"?)`},
		{"unknown key in lot policy", lot("    policy: {recall: 1m}\n"), "lots[0].policy.recall", `in lots[0].policy`},
		{"unknown key in slot policy", lot("    slot_policies: {\"701\": {x: 1}}\n"), "lots[0].slot_policies.701.x", `in lots[0].slot_policies.701`},
		{"unknown key in lot", lot("    parkext: \"70\"\n"), "lots[0].parkext", `unknown key "parkext" in lots[0]`},
		{"duplicate key", "api: {listen: \"a:1\", listen: \"b:2\"}\n", "api.listen", "given twice"},
		{"not a mapping", "- a\n- b\n", "", "must be a mapping"},
		{"two documents", "api: {listen: \"\"}\n---\nmoh: x\n", "", "only one YAML document"},
		{"yaml syntax", "sip: [\n", "", "cannot parse"},
		{"unquoted star", "lots:\n  - {name: a, extension: \"1\", slots: \"2-3\", retrieve_extension: *700}\n", "", `quote values that start with "*"`},

		{"empty listen", "sip: {listen: []}\n", "sip.listen", "at least one"},
		{"listen as scalar", "sip: {listen: udp://127.0.0.1:5060}\n", "sip.listen", "must be a list"},
		{"bad listen scheme", "sip: {listen: [\"udp://127.0.0.1:5060\", \"tls://127.0.0.1:5061\"]}\n", "sip.listen[1]", `scheme "tls"`},
		{"listen without port", "sip: {listen: [\"udp://127.0.0.1\"]}\n", "sip.listen[0]", "host:port"},
		{"listen bad host", "sip: {listen: [\"udp://bad_host-.:5060\"]}\n", "sip.listen[0]", "host name"},
		{"listen not a URI", "sip: {listen: [\"127.0.0.1:5060\"]}\n", "sip.listen[0]", "not a URI"},
		{"listen duplicate", "sip: {listen: [\"udp://127.0.0.1:5060\", \"UDP://127.0.0.1:5060\"]}\n", "sip.listen[1]", "same address"},
		{"bad allow", "sip: {allow: [\"10.0.0.0/33\"]}\n", "sip.allow[0]", "not a network"},
		{"bad advertise", "sip: {advertise: \"1.2.3\"}\n", "sip.advertise", "not an IP address or host name"},
		{"bad outbound proxy", "sip: {outbound_proxy: \"sip:\"}\n", "sip.outbound_proxy", ""},
		{"bad outbound proxy port", "sip: {outbound_proxy: \"proxy:99999\"}\n", "sip.outbound_proxy", "port"},

		{"bad rtp address", "rtp: {address: localhost}\n", "rtp.address", "not an IP"},
		{"reversed rtp ports", "rtp: {ports: \"20999-20000\"}\n", "rtp.ports", "reversed"},
		{"low rtp ports", "rtp: {ports: \"80-90\"}\n", "rtp.ports", "1024-65535"},
		{"one rtp port", "rtp: {ports: \"20000-20000\"}\n", "rtp.ports", "at least 2"},
		{"rtp ports garbage", "rtp: {ports: \"lots\"}\n", "rtp.ports", "not a port range"},
		{"short rtp timeout", "rtp: {timeout: 2s}\n", "rtp.timeout", "at least 5s"},
		{"negative rtp timeout", "rtp: {timeout: -5s}\n", "rtp.timeout", "negative"},
		{"bad latch", "rtp: {latch: first}\n", "rtp.latch", "sdp, signalling, any"},
		{"bad notify_parker", "lots: [{name: a, extension: \"800\", slots: \"801-802\", notify_parker: sms}]\n", "lots[0].notify_parker", "message, none"},
		{"bad trusted", "sip: {trusted: [pbx]}\n", "sip.trusted[0]", "not a network"},
		{"park_dtmf not a digit", "lots: [{name: a, extension: \"800\", slots: \"801-802\", park_dtmf: \"#7x\"}]\n", "lots[0].park_dtmf", "not a keypad digit"},
		{"park_dtmf too long", "lots: [{name: a, extension: \"800\", slots: \"801-802\", park_dtmf: \"123456789\"}]\n", "lots[0].park_dtmf", "at most 8"},
		{"attended_timeout too long", "lots: [{name: a, extension: \"800\", slots: \"801-802\", attended_timeout: 10m}]\n", "lots[0].attended_timeout", "between 1s and 5m"},
		{"bad empty_slot", "lots: [{name: a, extension: \"800\", slots: \"801-802\", empty_slot: beep}]\n", "lots[0].empty_slot", "reject, prompt"},
		{"announce_slot not a bool", "lots: [{name: a, extension: \"800\", slots: \"801-802\", announce_slot: maybe}]\n", "lots[0].announce_slot", "true or false"},
		{"unknown prompt", "lots: [{name: a, extension: \"800\", slots: \"801-802\", prompts: {hello: /tmp/x.wav}}]\n", "lots[0].prompts.hello", "no such prompt"},
		{"empty prompt path", "lots: [{name: a, extension: \"800\", slots: \"801-802\", prompts: {parked_on: \"\"}}]\n", "lots[0].prompts.parked_on", "WAV file"},
		{"auth user without hash", "sip: {auth: {users: [{name: alice}]}}\n", "sip.auth.users[0]", "needs ha1"},
		{"auth short ha1", "sip: {auth: {users: [{name: alice, ha1: abc}]}}\n", "sip.auth.users[0].ha1", "32 hex digits"},
		{"auth duplicate user", "sip: {auth: {users: [{name: a, ha1: 0123456789abcdef0123456789abcdef}, {name: a, ha1: 0123456789abcdef0123456789abcdef}]}}\n", "sip.auth.users[1].name", "already"},
		{"auth realm quote", "sip: {auth: {realm: 'a\"b'}}\n", "sip.auth.realm", "quotes"},
		{"short nonce lifetime", "sip: {auth: {nonce_lifetime: 1s}}\n", "sip.auth.nonce_lifetime", "between 10s"},
		{"tcp per source above total", "sip: {tcp: {max_connections: 10, max_per_source: 20}}\n", "sip.tcp.max_per_source", "between 1 and"},
		{"tcp short idle", "sip: {tcp: {idle_timeout: 1s}}\n", "sip.tcp.idle_timeout", "at least 10s"},
		{"tcp message timeout zero", "sip: {tcp: {message_timeout: 0s}}\n", "sip.tcp.message_timeout", "between 1s"},
		{"rate unit", "sip: {rate_limit: {per_source: 200/d}}\n", "sip.rate_limit.per_source", "unit"},
		{"rate not a number", "sip: {rate_limit: {per_source: fast}}\n", "sip.rate_limit.per_source", "not a rate"},
		{"rate burst zero", "sip: {rate_limit: {burst: 0}}\n", "sip.rate_limit.burst", "between 1"},
		{"max transactions zero", "sip: {max_transactions: 0}\n", "sip.max_transactions", "between 1"},
		{"retrieve_allow bad pattern", "lots: [{name: a, extension: \"800\", slots: \"801-802\", retrieve_allow: [\"sip:[\"]}]\n", "lots[0].retrieve_allow[0]", "bad wildcard"},
		{"bad api listen", "api: {listen: \"7080\"}\n", "api.listen", "host:port"},
		{"empty data", "data: \"\"\n", "data", "directory"},
		{"empty moh", "moh: \"\"\n", "moh", "builtin"},
		{"min_expires too short", "blf: {min_expires: 500ms}\n", "blf.min_expires", "between 1s and 24h (got 500ms)"},
		{"max below min", "blf: {min_expires: 2m, max_expires: 1m, default_expires: 2m}\n", "blf.max_expires", "between blf.min_expires (2m)"},
		{"default outside bounds", "blf: {default_expires: 2h}\n", "blf.default_expires", "between blf.min_expires (1m) and blf.max_expires (1h)"},
		{"zero per source", "blf: {max_per_source: 0}\n", "blf.max_per_source", "between 1 and"},
		{"zero total", "blf: {max_total: 0}\n", "blf.max_total", "between 1 and"},
		{"notify timeout", "blf: {notify_timeout: 10m}\n", "blf.notify_timeout", "between 500ms and 5m"},
		{"unknown blf key", "blf: {max_subscriptions: 5}\n", "blf.max_subscriptions", "max_subscriptions"},

		{"integer duration", "defaults: {recall_after: 45}\n", "defaults.recall_after", `use a duration like "45s"`},
		{"quoted integer duration", "defaults: {recall_after: \"45\"}\n", "defaults.recall_after", `use a duration like "45s"`},
		{"garbage duration", "defaults: {recall_after: soon}\n", "defaults.recall_after", `"soon" is not a duration`},
		{"negative duration", "defaults: {ring_group_for: -1m}\n", "defaults.ring_group_for", "negative"},
		{"list as duration", "defaults: {recall_after: [1s]}\n", "defaults.recall_after", "not a list"},
		{"recall_after range", "defaults: {recall_after: 2s}\n", "defaults.recall_after", "must be between 5s and 1h (got 2s)"},
		{"ring_parker_for range", "defaults: {ring_parker_for: 11m}\n", "defaults.ring_parker_for", "between 5s and 10m"},
		{"ring_group_for range", "defaults: {ring_group_for: 1s}\n", "defaults.ring_group_for", "between 5s and 10m"},
		{"bad recall_to", "defaults: {recall_to: everyone}\n", "defaults.recall_to", "parker_only, parker_then_group, group_only"},
		{"bad on_failure", "defaults: {on_failure: cry}\n", "defaults.on_failure", "repark, hangup, forward"},
		{"bad presence_type", "defaults: {presence_type: blinking}\n", "defaults.presence_type", "early, confirmed, terminated"},
		{"max_recalls range", "defaults: {max_recalls: 21}\n", "defaults.max_recalls", "between 0 and 20"},
		{"negative max_recalls", "defaults: {max_recalls: -1}\n", "defaults.max_recalls", "between 0 and 20"},
		{"max_recalls not a number", "defaults: {max_recalls: many}\n", "defaults.max_recalls", "whole number"},
		{"ring group not sip", "defaults: {ring_group: [\"sip:200@pbx\", \"tel:+15551234\"]}\n", "defaults.ring_group[1]", "sip: or sips:"},
		{"forward without target", "defaults: {on_failure: forward}\n", "defaults.forward_to", "required when on_failure is forward"},
		{"forward target not sip", "defaults: {on_failure: forward, forward_to: \"reception\"}\n", "defaults.forward_to", "sip:"},
		{"lot forward without target", lot("    policy: {on_failure: forward}\n"), "lots[0].policy.forward_to", "required"},
		{"slot forward without target", lot("    slot_policies: {\"705\": {on_failure: forward}}\n"), "lots[0].slot_policies.705.forward_to", "required"},
		{"presence id newline", "defaults: {presence_id: \"a\\nb\"}\n", "defaults.presence_id", "control characters"},

		{"no lots", "lots: []\n", "lots", "at least one lot"},
		{"null lots", "lots:\n", "lots", "at least one lot"},
		{"lots as mapping", "lots: {main: {}}\n", "lots", "must be a list"},
		{"missing extension", "lots:\n  - name: a\n    slots: \"701-720\"\n", "lots[0].extension", "is required"},
		{"missing slots", "lots:\n  - name: a\n    extension: \"700\"\n", "lots[0].slots", "is required"},
		{"bad lot name", "lots:\n  - {name: Main, extension: \"700\", slots: \"701-720\"}\n", "lots[0].name", "a-z"},
		{"empty lot name", "lots:\n  - {extension: \"700\", slots: \"701-720\"}\n", "lots[0].name", "a-z"},
		{"duplicate lot name", twoLots("extension: \"800\", slots: \"801-810\", name: main"), "", "given twice"},
		{"duplicate lot name across lots", lot("") + "  - {name: main, extension: \"800\", slots: \"801-810\"}\n", "lots[1].name", "already the name of lots[0]"},
		{"bad extension", lot("    retrieve_extension: \"7O0\"\n"), "lots[0].retrieve_extension", "dial string"},
		{"reversed slots", twoLots("extension: \"800\", slots: \"720-701\""), "lots[1].slots", `range "720-701" is reversed`},
		{"uneven slots", lot("") + "  - {name: b, extension: \"800\", slots: \"1-20\"}\n", "lots[1].slots", "same number of digits"},
		{"too many slots", lot("") + "  - {name: b, extension: \"800\", slots: \"1000-2999\"}\n", "lots[1].slots", "at most 1000"},
		{"slots garbage", lot("") + "  - {name: b, extension: \"800\", slots: \"a-b\"}\n", "lots[1].slots", "not a range"},
		{"overlapping slots", twoLots("extension: \"800\", slots: \"715-730\""), "lots[1].slots", `overlaps lots[0].slots "701-720"`},
		{"extension is another lot's slot", twoLots("extension: \"705\", slots: \"801-810\""), "lots[1].extension", `slot 705 of lot "main" (lots[0].slots)`},
		{"extension is own slot", "lots:\n  - {name: a, extension: \"705\", slots: \"701-720\"}\n", "lots[0].extension", "slot 705"},
		{"duplicate extension", twoLots("extension: \"700\", slots: \"801-810\""), "lots[1].extension", "lots[0].extension"},
		{"retrieve extension taken", twoLots("extension: \"800\", retrieve_extension: \"700\", slots: \"801-810\""), "lots[1].retrieve_extension", "lots[0].extension"},
		{"bad find_slot", lot("    find_slot: last\n"), "lots[0].find_slot", "first, next"},
		{"bad slot_action", lot("    slot_action: pickup\n"), "lots[0].slot_action", "park, direct_park, retrieve, auto"},
		{"bad transfer_to_occupied", lot("    transfer_to_occupied: bridge\n"), "lots[0].transfer_to_occupied", "reject, next_free"},
		{"bad when_full", lot("    when_full: drop\n"), "lots[0].when_full", "overflow:<lot name>"},
		{"overflow to missing lot", lot("    when_full: overflow:nowhere\n"), "lots[0].when_full", `"nowhere" is not a lot`},
		{"overflow to itself", lot("    when_full: overflow:main\n"), "lots[0].when_full", "itself"},
		{"overflow loop", lot("    when_full: overflow:b\n") + "  - {name: b, extension: \"800\", slots: \"801-810\", when_full: \"overflow:main\"}\n", "lots[0].when_full", "overflow loop: main → b → main"},
		{"forward not sip", lot("    when_full: forward:reception\n"), "lots[0].when_full", "sip: or sips:"},
		{"slot policy outside range", lot("    slot_policies: {\"799\": {recall_after: 1m}}\n"), "lots[0].slot_policies.799", "not a slot of this lot"},
		{"slot policy bad value", lot("    slot_policies: {\"701\": {recall_after: 1s}}\n"), "lots[0].slot_policies.701.recall_after", "between 5s and 1h"},
		{"lot policy bad value", lot("    policy: {max_recalls: 99}\n"), "lots[0].policy.max_recalls", "between 0 and 20"},
		{"answer delay too long", lot("    answer_delay: 31s\n"), "lots[0].answer_delay", "between 0s and 30s"},
		{"bad operator", lot("    operator: \"100\"\n"), "lots[0].operator", "sip:"},
		{"bad attendant", lot("    attendant_extension: \"front desk\"\n"), "lots[0].attendant_extension", "neither"},
		{"queue_max negative", lot("    queue_max: -1\n"), "lots[0].queue_max", "between 1 and 1000"},
		{"queue_max too large", lot("    queue_max: 1001\n"), "lots[0].queue_max", "between 1 and 1000"},
		{"queue_timeout negative", lot("    queue_timeout: -1s\n"), "lots[0].queue_timeout", "must not be negative"},
		{"queue_overflow unknown", lot("    queue_overflow: voicemail\n"), "lots[0].queue_overflow", "forward:<sip uri>"},
		{"queue_overflow forward not sip", lot("    queue_overflow: forward:100\n"), "lots[0].queue_overflow", "sip:"},
		{"attendant is a slot", lot("    attendant_extension: \"705\"\n"), "lots[0].attendant_extension", "slot 705"},
		{"tls cert without key", "api: {tls: {cert: a.pem}}\n", "api.tls", "both cert and key"},
		{"ring group empty", "ring_groups: {front: []}\n", "ring_groups.front", "no SIP URI"},
		{"ring group not sip", "ring_groups: {front: [\"100\"]}\n", "ring_groups.front[0]", "sip:"},
		{"kazoo not a mapping", lot("    kazoo: [1]\n"), "lots[0].kazoo", "must be a mapping"},
		{"kazoo duplicate key", lot("    kazoo: {a: 1, a: 2}\n"), "lots[0].kazoo.a", "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.text))
			if err == nil {
				t.Fatalf("no error for:\n%s", tt.text)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %q is not a *ConfigError", err, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "config: ") {
				t.Errorf("error %q does not start with \"config: \"", msg)
			}
			if ce.Key != tt.key && !(tt.key == "" && tt.text2 != "") {
				t.Errorf("Key = %q, want %q (error %q)", ce.Key, tt.key, msg)
			}
			// Unknown keys read `unknown key "x" in path`, naming the key
			// in two parts; every other error shows its key path whole.
			if !strings.Contains(msg, tt.key) && !strings.Contains(msg, "unknown key") || !strings.Contains(msg, tt.text2) {
				t.Errorf("error %q does not contain %q and %q", msg, tt.key, tt.text2)
			}
		})
	}
}

func TestParseErrorLines(t *testing.T) {
	text := "sip:\n  listen: [\"udp://127.0.0.1:5060\"]\n" + // 1-2
		"defaults:\n  recall_after: 45s\n" + // 3-4
		"lots:\n  - name: main\n    extension: \"700\"\n" + // 5-7
		"    slots: \"720-701\"\n" // 8
	tests := []struct{ text, want string }{
		{text, `config: line 8: lots[0].slots: range "720-701" is reversed`},
		{strings.Replace(text, "recall_after", "recal_after", 1), `config: line 4: unknown key "recal_after" in defaults (did you mean "recall_after"?)`},
		{strings.Replace(text, `    slots: "720-701"`, "", 1), `config: line 6: lots[0].slots: is required (a range like "701-720")`},
		{strings.Replace(text, "45s", "45", 1), `config: line 4: defaults.recall_after: plain number 45 is not a duration; use a duration like "45s"`},
	}
	for _, tt := range tests {
		_, err := ParseConfig([]byte(tt.text))
		if err == nil || err.Error() != tt.want {
			t.Errorf("got  %v\nwant %s", err, tt.want)
		}
	}
}

func TestValidateErrorText(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Lots = append(cfg.Lots, LotConfig{
		Name: "b", Extension: "800", Slots: "720-701",
		FindSlot: "first", SlotAction: "auto", WhenFull: "reject", TransferToOccupied: "reject", QueueMax: 20, QueueTimeout: Duration(10 * time.Minute), QueueOverflow: "hangup", NotifyParker: "message",
	})
	err := cfg.Validate()
	if err == nil || err.Error() != `config: lots[1].slots: range "720-701" is reversed` {
		t.Fatalf("Validate() = %v", err)
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "lots[1].slots" {
		t.Fatalf("Validate() = %#v", err)
	}

	// Problems lists every problem, not just the first.
	cfg.RTP.Ports = "1-2"
	cfg.Lots[0].FindSlot = "any"
	var keys []string
	for _, p := range cfg.Problems() {
		keys = append(keys, p.Key)
	}
	want := []string{"rtp.ports", "lots[0].find_slot", "lots[1].slots"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("Problems() keys = %v, want %v", keys, want)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "parkd.yaml")
	if err := os.WriteFile(good, []byte(designExample), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(good); err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("\ndefaults: {recal_after: 1m}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(bad)
	want := bad + `: line 2: unknown key "recal_after" in defaults (did you mean "recall_after"?)`
	if err == nil || err.Error() != want {
		t.Errorf("LoadConfig(bad) = %v\nwant %s", err, want)
	}

	missing := filepath.Join(dir, "missing.yaml")
	_, err = LoadConfig(missing)
	if err == nil || !strings.HasPrefix(err.Error(), missing+": ") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadConfig(missing) = %v", err)
	}
}

func TestPolicyOver(t *testing.T) {
	base := BuiltinPolicy()
	lot := Policy{RecallAfter: ptr(Duration(time.Minute)), RingGroup: []string{"sip:1@pbx"}}
	slot := Policy{RingGroup: []string{}, OnFailure: ptr("hangup")}

	got := slot.Over(lot.Over(base))
	want := BuiltinPolicy()
	want.RecallAfter = ptr(Duration(time.Minute))
	want.OnFailure = ptr("hangup")
	want.RingGroup = []string{} // the slot's empty group overrides the lot's
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("merged =\n%s\nwant\n%s", mustYAML(t, got), mustYAML(t, want))
	}

	// nil RingGroup inherits.
	if g := (Policy{}).Over(lot); !reflect.DeepEqual(g.RingGroup, []string{"sip:1@pbx"}) {
		t.Errorf("nil ring_group did not inherit: %v", g.RingGroup)
	}
	// The merge shares no memory with its inputs.
	*got.RecallAfter = 0
	got.RingGroup = append(got.RingGroup, "sip:x@y")
	if lot.RecallAfter.D() != time.Minute || len(slot.RingGroup) != 0 {
		t.Errorf("Over aliased its inputs")
	}
	if !(Policy{}).IsZero() || base.IsZero() {
		t.Errorf("IsZero wrong")
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		p    Policy
		path string
		want string // "" = valid
	}{
		{BuiltinPolicy(), "defaults", ""},
		{Policy{}, "x", ""},
		{Policy{RecallAfter: ptr(Duration(2 * time.Second))}, "lots[0].policy", "lots[0].policy.recall_after: must be between 5s and 1h (got 2s)"},
		{Policy{RecallAfter: ptr(Duration(2 * time.Hour))}, "", "recall_after: must be between 5s and 1h (got 2h)"},
		{Policy{OnFailure: ptr("forward"), ForwardTo: ptr("")}, "p", "p.forward_to: required when on_failure is forward (a sip: URI)"},
		// A layer that only says "forward" may inherit its target.
		{Policy{OnFailure: ptr("forward")}, "p", ""},
		{Policy{ForwardTo: ptr("sips:desk@example.com")}, "p", ""},
		{Policy{RingGroup: []string{"sip:[::1]:5060", "sip:a@b;transport=tcp", "200"}}, "p", `p.ring_group[2]: "200" is not a sip: or sips: URI`},
		{Policy{MaxRecalls: ptr(20)}, "p", ""},
		{Policy{PresenceType: ptr("confirmed"), RecallTo: ptr("parker_only")}, "p", ""},
	}
	for _, tt := range tests {
		err := tt.p.Validate(tt.path)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("Validate(%q) of %s= %q, want %q", tt.path, mustYAML(t, tt.p), got, tt.want)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 2 * time.Minute: "2m", time.Hour: "1h",
		90 * time.Minute: "1h30m", 1500 * time.Millisecond: "1.5s", 61 * time.Second: "1m1s",
	} {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", d, got, want)
		}
		// The short form parses back to the same value.
		if back, err := time.ParseDuration(Duration(d).String()); err != nil || back != d {
			t.Errorf("%q does not parse back: %v %v", want, back, err)
		}
	}

	var v struct{ D Duration }
	if err := json.Unmarshal([]byte(`{"D": "2m"}`), &v); err != nil || v.D.D() != 2*time.Minute {
		t.Errorf("json: %v %v", v.D, err)
	}
	if err := json.Unmarshal([]byte(`{"D": 45}`), &v); err == nil || !strings.Contains(err.Error(), `use a duration like "45s"`) {
		t.Errorf("json number: %v", err)
	}
	if out, _ := json.Marshal(struct{ D Duration }{Duration(time.Minute)}); string(out) != `{"D":"1m"}` {
		t.Errorf("json marshal: %s", out)
	}
	var y struct{ D Duration }
	if err := yaml.Unmarshal([]byte("d: 30s"), &y); err != nil || y.D.D() != 30*time.Second {
		t.Errorf("yaml: %v %v", y.D, err)
	}
	if err := yaml.Unmarshal([]byte("d: 30"), &y); err == nil {
		t.Errorf("yaml number accepted")
	}
	if err := yaml.Unmarshal([]byte("d: 0"), &y); err != nil || y.D != 0 {
		t.Errorf("yaml 0: %v %v", y.D, err)
	}
}

func TestListenAllowPorts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SIP.Listen = []string{"udp://127.0.0.1:5060", "sctp://127.0.0.1:5060"}
	if _, err := cfg.ListenURIs(); err == nil || !strings.Contains(err.Error(), "sip.listen[1]") {
		t.Errorf("ListenURIs() error = %v", err)
	}
	cfg.SIP.Allow = []string{"10.1.2.3/8", "::1", "fe80::1%eth0"}
	if _, err := cfg.AllowNets(); err == nil || !strings.Contains(err.Error(), "sip.allow[2]") {
		t.Errorf("AllowNets() error = %v", err)
	}
	cfg.SIP.Allow = cfg.SIP.Allow[:2]
	nets, err := cfg.AllowNets()
	if err != nil || nets[0] != netip.MustParsePrefix("10.0.0.0/8") || nets[1] != netip.MustParsePrefix("::1/128") {
		t.Errorf("AllowNets() = %v, %v", nets, err)
	}
	for ports, ok := range map[string]bool{
		"1024-1025": true, "20001-20998": true, "65534-65535": true,
		"1023-2000": false, "2000-65536": false, "5000": false, "5000-": false, "-5000": false, "5000-5000": false,
	} {
		cfg.RTP.Ports = ports
		_, _, err := cfg.RTPPortRange()
		if (err == nil) != ok {
			t.Errorf("RTPPortRange(%q) error = %v, want ok=%v", ports, err, ok)
		}
	}
}

func TestSlotRange(t *testing.T) {
	tests := []struct {
		slots              string
		first, last, width int
		names0, namesLast  string
		count              int
	}{
		{"701-720", 701, 720, 3, "701", "720", 20},
		{"01-20", 1, 20, 2, "01", "20", 20},
		{"5", 5, 5, 1, "5", "5", 1},
		{"0000-0999", 0, 999, 4, "0000", "0999", 1000},
		{"720-701", 0, 0, 0, "", "", 0},
		{"", 0, 0, 0, "", "", 0},
	}
	for _, tt := range tests {
		l := LotConfig{Slots: tt.slots}
		f, la, w := l.SlotRange()
		names := l.SlotNames()
		if f != tt.first || la != tt.last || w != tt.width || len(names) != tt.count {
			t.Errorf("%q: SlotRange() = %d, %d, %d; %d names", tt.slots, f, la, w, len(names))
			continue
		}
		if tt.count > 0 && (names[0] != tt.names0 || names[len(names)-1] != tt.namesLast) {
			t.Errorf("%q: SlotNames() = %v…%v", tt.slots, names[0], names[len(names)-1])
		}
	}
}

// TestRoundTrip: what parkd writes as YAML reads back unchanged, with
// nil-vs-empty ring groups preserved.
func TestRoundTrip(t *testing.T) {
	setHome(t, "/home/rita", "")
	for _, text := range []string{"", designExample, fullConfig} {
		cfg := mustParse(t, text)
		cfg.Lots[0].Policy.RingGroup = nil
		out := mustYAML(t, cfg)
		again := mustParse(t, out)
		if !reflect.DeepEqual(again, cfg) {
			t.Errorf("round trip changed the config; YAML was\n%s", out)
		}
	}
}

func TestKazooVerbatim(t *testing.T) {
	lot := "lots:\n  - name: main\n    extension: \"700\"\n    slots: \"701-720\"\n    kazoo: "
	cfg := mustParse(t, lot+"{slots: {701: {ringback_timeout: 30000, presence_id: ~}}, custom_presence_id: true, default_callback_timeout: 2.6e4, presence_id: 2024-01-02}\n")
	want := map[string]any{
		"slots":                    map[string]any{"701": map[string]any{"ringback_timeout": 30000, "presence_id": nil}},
		"custom_presence_id":       true,
		"default_callback_timeout": 26000.0,
		"presence_id":              "2024-01-02",
	}
	if got := cfg.Lots[0].Kazoo; !reflect.DeepEqual(got, want) {
		t.Errorf("kazoo = %#v\nwant %#v", got, want)
	}
	if _, err := json.Marshal(cfg); err != nil {
		t.Errorf("kazoo data does not encode as JSON: %v", err)
	}
	for text, key := range map[string]string{
		"{x: .nan}\n":      "lots[0].kazoo.x",
		"&k {x: [*k]}\n":   "lots[0].kazoo.x[0]",
		"{a: 1, a: 2}\n":   "lots[0].kazoo.a",
		"{[1]: 2}\n":       "lots[0].kazoo",
		"{x: !!int abc}\n": "lots[0].kazoo.x",
	} {
		_, err := ParseConfig([]byte(lot + text))
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.HasPrefix(ce.Key, key) {
			t.Errorf("kazoo: %s: error %v, want key %s", text, err, key)
		}
	}
}
