package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

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
		{"short max relay delay", "rtp: {max_relay_delay: 5ms}\n", "rtp.max_relay_delay", "between 20ms and 10s"},
		{"long max relay delay", "rtp: {max_relay_delay: 1m}\n", "rtp.max_relay_delay", "between 20ms and 10s"},
		{"negative max relay delay", "rtp: {max_relay_delay: -1s}\n", "rtp.max_relay_delay", "negative"},
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
