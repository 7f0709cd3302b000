package config

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParseConfig feeds arbitrary text to the config reader. It must never
// panic; whatever it accepts must validate, and must survive being written
// out as YAML and read back unchanged (Kazoo's free-form data aside: it is
// kept verbatim, so only its re-reading is checked).
func FuzzParseConfig(f *testing.F) {
	seeds := []string{
		"",
		designExample,
		fullConfig,
		`{"lots": [{"name": "a", "extension": "800", "slots": "801-810"}]}`,
		"defaults:\n  recal_after: 3s\n",
		"defaults: {recall_after: 45}\n",
		"lots:\n  - {name: a, extension: \"1\", slots: \"2-3\", retrieve_extension: *700}\n",
		"lots:\n  - &a {name: a, extension: \"100\", slots: \"101-110\", when_full: \"overflow:b\"}\n  - <<: *a\n    name: b\n    extension: \"200\"\n    slots: \"201-210\"\n    when_full: \"overflow:a\"\n",
		"lots:\n  - {name: main, extension: \"700\", slots: \"720-701\"}\n",
		"sip: {listen: [\"tls://127.0.0.1:5061\"], allow: [\"::1\", \"10.0.0.0/8\"]}\n",
		"a: &a [*a]\n",
		"lots:\n  - name: a\n    extension: \"1\"\n    slots: \"2-3\"\n    kazoo: &k {x: [*k]}\n",
		"rtp: {timeout: 0, ports: \"1024-1025\"}\napi: {listen: \":0\"}\n",
		"---\n---\n",
		"lots:\n  - {name: a, extension: \"800\", slots: \"801-802\", announce_slot: false, attended_timeout: 30s, empty_slot: prompt, recall_prompt: no, courtesy_tone: true, park_dtmf: \"#72\", prompts: {parked_on: /srv/p.wav, \"7\": /srv/7.wav}}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("empty error message")
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted a config that does not validate: %v", err)
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("cannot marshal an accepted config: %v", err)
		}
		again, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("re-reading the marshalled config: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(roundTripView(cfg), roundTripView(again)) {
			t.Fatalf("round trip changed the config:\n%s", out)
		}
	})
}

// roundTripView blanks what may differ without a difference in meaning: a nil
// and an empty sip.listen or sip.allow (YAML writes both as []), and Kazoo.
// Policy ring groups are compared as they are: there nil and [] differ.
func roundTripView(c Config) Config {
	if len(c.SIP.Listen) == 0 {
		c.SIP.Listen = nil
	}
	if len(c.SIP.Allow) == 0 {
		c.SIP.Allow = nil
	}
	if len(c.SIP.ParkerHeaders) == 0 {
		c.SIP.ParkerHeaders = nil
	}
	c.Lots = slices.Clone(c.Lots)
	for i := range c.Lots {
		c.Lots[i].Kazoo = nil
	}
	return c
}

// FuzzPolicyJSON: a policy override as the store (and the API) hands it
// over: bad JSON or bad values are errors, never a panic, and whatever is
// accepted survives a round trip unchanged.
func FuzzPolicyJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"recall_after":"45s","ring_group":[]}`, `{"ring_group":null}`,
		`{"recall_to":"group_only","ring_group":["sip:201@pbx"],"on_failure":"forward","forward_to":"sip:vm@pbx"}`,
		`{"recall_after":45}`, `{"max_recalls":-1}`, `{"presence_type":"terminated"}`, `[1]`, `{"recall_after":"1e9h"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Policy
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		if err := p.Validate(""); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("cannot marshal an accepted policy: %v", err)
		}
		var again Policy
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("re-reading %s: %v", out, err)
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("round trip changed the policy:\n%+v\n%+v (%s)", p, again, out)
		}
	})
}
