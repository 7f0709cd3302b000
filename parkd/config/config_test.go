package config

import (
	"encoding/json"
	"errors"
	"net/netip"
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
rtp: {address: 0.0.0.0, ports: "30000-30100", timeout: 0, max_relay_delay: 250ms}
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
			MaxTransactions: 10000, MaxPendingInvites: 200,
		},
		RTP: RTPConfig{Address: "127.0.0.1", Ports: "20000-20999", Timeout: Duration(60 * time.Second), Latch: "signalling",
			MaxRelayDelay: Duration(100 * time.Millisecond)}, // not in DESIGN.md: parkd's own key
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
	if cfg.RTP != (RTPConfig{Address: "0.0.0.0", Ports: "30000-30100", Timeout: 0, MaxRelayDelay: Duration(250 * time.Millisecond), Latch: "signalling"}) {
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
