package config

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The examples of Kazoo's park docs, as printed. "Example of `data` object"
// is an object member ("data": {...}), so it needs braces around it to be a
// JSON text; the braces make it the wrapped form ParseKazoo unwraps.
const (
	kazooDocDataObject = `   "data":{
      "action":"auto",
      "default_ringback_timeout":5000,
      "default_callback_timeout":26000,
      "default_presence_type":"early",
      "slots":{
         "100":{
            "ringback_timeout":5000,
            "callback_timeout":26000,
            "presence_type":"confirmed"
         }
      }
   }`

	// The flow's "data" of "Example Flow".
	kazooDocFlowData = `{
         "action":"auto",
         "default_ringback_timeout":120000,
         "default_callback_timeout":30000,
         "slots":{
            "100":{
               "ringback_timeout":10000
            },
            "101":{
               "ringback_timeout":25000,
               "presence_type":"confirmed"
            }
         }
      }`
)

// kazooTestLot is the lot the tests map Kazoo data onto: slots 100-119.
var kazooTestLot = LotConfig{Name: "main", Extension: "99", Slots: "100-119"}

func kazooInLot(l LotConfig) func(string) bool {
	names := l.SlotNames()
	return func(s string) bool { return slices.Contains(names, s) }
}

func secs(n float64) *Duration { return ptr(Duration(time.Duration(n * float64(time.Second)))) }

// kazooShow renders a result for failure messages (Policy fields are
// pointers, which %+v would print as addresses).
func kazooShow(k KazooPark) string {
	b, err := json.Marshal(k)
	if err != nil {
		return fmt.Sprintf("%+v", k)
	}
	return string(b)
}

func kazooErrors(errs []*PolicyError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// decodeKazooJSON decodes as Kazoo data arrives over its API: numbers are
// float64.
func decodeKazooJSON(t testing.TB, text string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("test data is not JSON: %v\n%s", err, text)
	}
	return m
}

// decodeKazooConfig decodes through parkd's config reader: the JSON text
// is the lot's kazoo: value in a YAML config file (numbers become int).
func decodeKazooConfig(t testing.TB, text string) (map[string]any, LotConfig) {
	t.Helper()
	indented := "      " + strings.ReplaceAll(text, "\n", "\n      ")
	cfg, err := ParseConfig([]byte("lots:\n  - name: main\n    extension: \"99\"\n    slots: \"100-119\"\n    kazoo:\n" + indented + "\n"))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	return cfg.Lots[0].Kazoo, cfg.Lots[0]
}

func TestKazooDocExamples(t *testing.T) {
	tests := []struct {
		name string
		text string
		want KazooPark
		// slot -> presence type and recall after of the merged policy
		merged map[string][2]string
	}{
		{
			name: "example of data object",
			text: "{\n" + kazooDocDataObject + "\n}",
			want: KazooPark{
				Action: SlotActionAuto,
				Lot:    Policy{RecallAfter: secs(5), RingParkerFor: secs(26), PresenceType: ptr(PresenceEarly)},
				Slots: map[string]Policy{
					"100": {RecallAfter: secs(5), RingParkerFor: secs(26), PresenceType: ptr(PresenceConfirmed)},
				},
				Sources: map[string]string{
					"slot_action":               "data.action",
					"recall_after":              "data.default_ringback_timeout",
					"ring_parker_for":           "data.default_callback_timeout",
					"presence_type":             "data.default_presence_type",
					"slots.100.recall_after":    "data.slots.100.ringback_timeout",
					"slots.100.ring_parker_for": "data.slots.100.callback_timeout",
					"slots.100.presence_type":   "data.slots.100.presence_type",
				},
			},
			merged: map[string][2]string{
				"100": {PresenceConfirmed, "5s"},
				"101": {PresenceEarly, "5s"},
			},
		},
		{
			name: "example flow",
			text: kazooDocFlowData,
			want: KazooPark{
				Action: SlotActionAuto,
				Lot:    Policy{RecallAfter: secs(120), RingParkerFor: secs(30)},
				Slots: map[string]Policy{
					"100": {RecallAfter: secs(10)},
					"101": {RecallAfter: secs(25), PresenceType: ptr(PresenceConfirmed)},
				},
				Sources: map[string]string{
					"slot_action":             "action",
					"recall_after":            "default_ringback_timeout",
					"ring_parker_for":         "default_callback_timeout",
					"slots.100.recall_after":  "slots.100.ringback_timeout",
					"slots.101.recall_after":  "slots.101.ringback_timeout",
					"slots.101.presence_type": "slots.101.presence_type",
				},
			},
			merged: map[string][2]string{
				"100": {PresenceEarly, "10s"},
				"101": {PresenceConfirmed, "25s"},
				"102": {PresenceEarly, "2m"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fromConfig, lot := decodeKazooConfig(t, tt.text)
			decoded := map[string]map[string]any{
				"encoding/json": decodeKazooJSON(t, tt.text),
				"ParseConfig":   fromConfig,
			}
			for how, data := range decoded {
				got, errs := ParseKazoo(data, "lots[0].kazoo", kazooInLot(lot))
				if len(errs) > 0 {
					t.Fatalf("%s: errors %q", how, kazooErrors(errs))
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s:\n got %s\nwant %s", how, kazooShow(got), kazooShow(tt.want))
				}
				lotPolicy := got.Lot.Over(BuiltinPolicy())
				for slot, want := range tt.merged {
					p := lotPolicy
					if sp, ok := got.Slots[slot]; ok {
						p = sp.Over(lotPolicy)
					}
					if *p.PresenceType != want[0] || p.RecallAfter.String() != want[1] {
						t.Errorf("%s: slot %s: presence_type %s, recall_after %s; want %s, %s",
							how, slot, *p.PresenceType, p.RecallAfter, want[0], want[1])
					}
					if err := p.Validate(""); err != nil {
						t.Errorf("%s: slot %s: merged policy: %v", how, slot, err)
					}
				}
			}
		})
	}
}

func TestParseKazooValues(t *testing.T) {
	tests := []struct {
		name string
		data string
		want KazooPark
	}{
		{"empty", `{}`, KazooPark{}},
		{"empty wrapped", `{"data": {}}`, KazooPark{}},
		{"wrapped null", `{"data": null}`, KazooPark{}},
		{"nulls are not set", `{"action": null, "default_ringback_timeout": null, "default_presence_type": null,
			"presence_id": null, "slot": null, "max_slot_number": null, "slots": null, "skip_module": null,
			"custom_presence_id": null, "force_presence_user": null}`, KazooPark{}},
		{"empty strings are not set", `{"action": "", "default_presence_type": "", "presence_id": "", "slot": "",
			"slots": {"100": {"presence_type": "", "presence_id": ""}}}`, KazooPark{}},
		{"empty and null slot entries", `{"slots": {"100": {}, "101": null, "102": {"ringback_timeout": null}}}`, KazooPark{}},
		{"flags that change nothing", `{"custom_presence_id": true, "skip_module": false, "force_presence_user": false}`, KazooPark{}},
		{"custom_presence_id false", `{"custom_presence_id": false}`, KazooPark{}},
		{"action park", `{"action": "park"}`, KazooPark{Action: SlotActionPark, Sources: map[string]string{"slot_action": "action"}}},
		{"action direct_park", `{"action": "direct_park"}`, KazooPark{Action: SlotActionDirectPark, Sources: map[string]string{"slot_action": "action"}}},
		{"action retrieve", `{"action": "retrieve"}`, KazooPark{Action: SlotActionRetrieve, Sources: map[string]string{"slot_action": "action"}}},
		{"static slot", `{"slot": "105"}`, KazooPark{Slot: "105"}},
		{"static slot as a number", `{"slot": 105}`, KazooPark{Slot: "105"}},
		{"max slot", `{"max_slot_number": 110}`, KazooPark{MaxSlot: 110}},
		{"presence ids and terminated", `{"presence_id": "park@pbx.example.com", "default_presence_type": "terminated",
			"slots": {"119": {"presence_id": "*3119", "presence_type": "early"}}}`, KazooPark{
			Lot:   Policy{PresenceID: ptr("park@pbx.example.com"), PresenceType: ptr(PresenceTerminated)},
			Slots: map[string]Policy{"119": {PresenceID: ptr("*3119"), PresenceType: ptr(PresenceEarly)}},
			Sources: map[string]string{
				"presence_id":             "presence_id",
				"presence_type":           "default_presence_type",
				"slots.119.presence_id":   "slots.119.presence_id",
				"slots.119.presence_type": "slots.119.presence_type",
			},
		}},
		{"milliseconds that are not whole seconds", `{"default_callback_timeout": 7500, "slots": {"100": {"callback_timeout": 600000}}}`, KazooPark{
			Lot:     Policy{RingParkerFor: secs(7.5)},
			Slots:   map[string]Policy{"100": {RingParkerFor: secs(600)}},
			Sources: map[string]string{"ring_parker_for": "default_callback_timeout", "slots.100.ring_parker_for": "slots.100.callback_timeout"},
		}},
		{"range ends", fmt.Sprintf(`{"default_ringback_timeout": %d, "slots": {"100": {"ringback_timeout": %d}}}`,
			MinRecallAfter.Milliseconds(), MaxRecallAfter.Milliseconds()), KazooPark{
			Lot:     Policy{RecallAfter: ptr(Duration(MinRecallAfter))},
			Slots:   map[string]Policy{"100": {RecallAfter: ptr(Duration(MaxRecallAfter))}},
			Sources: map[string]string{"recall_after": "default_ringback_timeout", "slots.100.recall_after": "slots.100.ringback_timeout"},
		}},
		{"float with no fraction", `{"default_callback_timeout": 3.0e4}`, KazooPark{
			Lot: Policy{RingParkerFor: secs(30)}, Sources: map[string]string{"ring_parker_for": "default_callback_timeout"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := ParseKazoo(decodeKazooJSON(t, tt.data), "lots[0].kazoo", kazooInLot(kazooTestLot))
			if len(errs) > 0 {
				t.Fatalf("errors %q", kazooErrors(errs))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %s\nwant %s", kazooShow(got), kazooShow(tt.want))
			}
		})
	}
}

// TestParseKazooNumberTypes: every integer type the decoders produce is
// read the same way.
func TestParseKazooNumberTypes(t *testing.T) {
	for _, v := range []any{30000, int64(30000), uint64(30000), float64(30000)} {
		got, errs := ParseKazoo(map[string]any{"default_callback_timeout": v, "max_slot_number": v}, "kazoo", nil)
		if len(errs) > 0 || got.Lot.RingParkerFor == nil || *got.Lot.RingParkerFor != *secs(30) || got.MaxSlot != 30000 {
			t.Errorf("%T: got %s, errors %q", v, kazooShow(got), kazooErrors(errs))
		}
	}
	for v, want := range map[any]string{
		uint64(math.MaxUint64): "kazoo.default_callback_timeout: must be between 5000 and 600000 ms (got 18446744073709551615)",
		math.Pow(2, 63):        "kazoo.default_callback_timeout: must be between 5000 and 600000 ms (got 9223372036854776000)",
		-math.Pow(2, 64):       "kazoo.default_callback_timeout: must be between 5000 and 600000 ms (got -18446744073709552000)",
		math.Inf(1):            "kazoo.default_callback_timeout: must be a whole number of milliseconds (got +Inf)",
		math.NaN():             "kazoo.default_callback_timeout: must be a whole number of milliseconds (got NaN)",
		int64(-1):              "kazoo.default_callback_timeout: must be between 5000 and 600000 ms (got -1)",
		int8(1):                "kazoo.default_callback_timeout: must be a whole number of milliseconds, not a int8",
	} {
		_, errs := ParseKazoo(map[string]any{"default_callback_timeout": v}, "kazoo", nil)
		if got := kazooErrors(errs); len(got) != 1 || got[0] != want {
			t.Errorf("%T %v: errors %q, want %q", v, v, got, want)
		}
	}
}

func TestParseKazooErrors(t *testing.T) {
	recallRange := fmt.Sprintf("must be between %d and %d ms", MinRecallAfter.Milliseconds(), MaxRecallAfter.Milliseconds())
	const (
		k        = "lots[0].kazoo."
		topKeys  = "action, custom_presence_id, default_callback_timeout, default_presence_type, default_ringback_timeout, force_presence_user, max_slot_number, presence_id, skip_module, slot, slots"
		slotKeys = "callback_timeout, presence_id, presence_type, ringback_timeout"
	)
	tests := []struct {
		name string
		data string
		want []string
	}{
		// timeouts
		{"timeout as a string", `{"default_ringback_timeout": "5000"}`,
			[]string{k + `default_ringback_timeout: must be a whole number of milliseconds, not a string ("5000")`}},
		{"timeout with a fraction", `{"default_callback_timeout": 26000.5}`,
			[]string{k + "default_callback_timeout: must be a whole number of milliseconds (got 26000.5)"}},
		{"timeout as an object", `{"slots": {"100": {"callback_timeout": {"ms": 1}}}}`,
			[]string{k + "slots.100.callback_timeout: must be a whole number of milliseconds, not an object"}},
		{"timeout as a boolean", `{"slots": {"100": {"ringback_timeout": true}}}`,
			[]string{k + "slots.100.ringback_timeout: must be a whole number of milliseconds, not a boolean (true)"}},
		{"negative ringback", `{"slots": {"100": {"ringback_timeout": -5000}}}`,
			[]string{k + "slots.100.ringback_timeout: " + recallRange + " (got -5000)"}},
		{"ringback too short", `{"default_ringback_timeout": 3000}`,
			[]string{k + "default_ringback_timeout: " + recallRange + " (got 3000)"}},
		{"ringback in seconds by mistake", `{"default_ringback_timeout": 45}`,
			[]string{k + "default_ringback_timeout: " + recallRange + " (got 45)"}},
		{"ringback too long", `{"default_ringback_timeout": 3600001}`,
			[]string{k + "default_ringback_timeout: " + recallRange + " (got 3600001)"}},
		{"ringback beyond any integer", `{"default_ringback_timeout": 1e300}`,
			[]string{k + "default_ringback_timeout: " + recallRange + " (got 1e+300)"}},
		{"callback too short", `{"default_callback_timeout": 4999}`,
			[]string{k + "default_callback_timeout: must be between 5000 and 600000 ms (got 4999)"}},
		{"callback too long", `{"slots": {"100": {"callback_timeout": 600001}}}`,
			[]string{k + "slots.100.callback_timeout: must be between 5000 and 600000 ms (got 600001)"}},
		{"callback taken as seconds", `{"default_callback_timeout": 26}`,
			[]string{k + "default_callback_timeout: must be between 5000 and 600000 ms (got 26)"}},

		// presence
		{"bad presence type", `{"default_presence_type": "busy"}`,
			[]string{k + `default_presence_type: must be one of early, confirmed, terminated (got "busy")`}},
		{"presence type not a string", `{"slots": {"100": {"presence_type": 1}}}`,
			[]string{k + "slots.100.presence_type: must be one of early, confirmed, terminated, not a number (1)"}},
		{"presence id not a string", `{"presence_id": 100}`,
			[]string{k + `presence_id: must be a string such as "100@pbx.example.com", not a number (100)`}},
		{"presence id with a line break", `{"slots": {"100": {"presence_id": "a\nb"}}}`,
			[]string{k + "slots.100.presence_id: must not contain control characters or line breaks"}},
		{"custom_presence_id not a boolean", `{"custom_presence_id": "yes"}`,
			[]string{k + `custom_presence_id: must be true or false, not a string ("yes")`}},
		{"force_presence_user", `{"force_presence_user": true}`,
			[]string{k + `force_presence_user: true has no parkd equivalent; set each slot's presence_id (such as "*3100") instead, or set it to false`}},

		// action, slot, max_slot_number, skip_module
		{"bad action", `{"action": "pickup"}`,
			[]string{k + `action: must be one of park, direct_park, retrieve, auto (got "pickup")`}},
		{"action not a string", `{"action": ["park"]}`,
			[]string{k + "action: must be one of park, direct_park, retrieve, auto, not a list"}},
		{"slot outside the lot", `{"slot": "99"}`, []string{k + `slot: "99" is not a slot of this lot`}},
		{"numeric slot outside the lot", `{"slot": 120}`, []string{k + `slot: "120" is not a slot of this lot`}},
		{"slot with a fraction", `{"slot": 100.5}`, []string{k + `slot: must be a slot number like "100", not a number (100.5)`}},
		{"negative slot", `{"slot": -100}`, []string{k + `slot: must be a slot number like "100", not a number (-100)`}},
		{"slot as a boolean", `{"slot": true}`, []string{k + `slot: must be a slot number like "100", not a boolean (true)`}},
		{"max_slot_number zero", `{"max_slot_number": 0}`, []string{k + "max_slot_number: must be a whole number between 1 and 999999999 (got 0)"}},
		{"max_slot_number negative", `{"max_slot_number": -1}`, []string{k + "max_slot_number: must be a whole number between 1 and 999999999 (got -1)"}},
		{"max_slot_number fraction", `{"max_slot_number": 110.5}`, []string{k + "max_slot_number: must be a whole number between 1 and 999999999 (got 110.5)"}},
		{"max_slot_number string", `{"max_slot_number": "110"}`, []string{k + `max_slot_number: must be a whole number between 1 and 999999999 (got "110")`}},
		{"max_slot_number too big", `{"max_slot_number": 1000000000}`, []string{k + "max_slot_number: must be a whole number between 1 and 999999999 (got 1000000000)"}},
		{"skip_module", `{"skip_module": true}`,
			[]string{k + "skip_module: true has no parkd equivalent (parkd has no callflow to skip to); remove it or set it to false"}},
		{"skip_module not a boolean", `{"skip_module": "no"}`, []string{k + `skip_module: must be true or false, not a string ("no")`}},

		// slots object
		{"slots as a list", `{"slots": [100]}`, []string{k + "slots: must be an object keyed by slot number, not a list"}},
		{"slot entry outside the lot", `{"slots": {"99": {"ringback_timeout": 30000}}}`, []string{k + `slots.99: "99" is not a slot of this lot`}},
		{"bad entry outside the lot", `{"slots": {"120": {"ringback_timeout": "x"}}}`, []string{
			k + `slots.120: "120" is not a slot of this lot`,
			k + `slots.120.ringback_timeout: must be a whole number of milliseconds, not a string ("x")`,
		}},
		{"odd slot name", `{"slots": {"a b": {}}}`, []string{k + `slots["a b"]: "a b" is not a slot of this lot`}},
		{"slot entry not an object", `{"slots": {"100": 5}}`,
			[]string{k + "slots.100: must be an object of " + slotKeys + ", not a number (5)"}},
		{"unknown slot key", `{"slots": {"100": {"ringback": 30000}}}`,
			[]string{k + `slots.100.ringback: unknown key "ringback"; a slot entry has ` + slotKeys}},
		{"mistyped slot key", `{"slots": {"100": {"ringback_timout": 30000}}}`,
			[]string{k + `slots.100.ringback_timout: unknown key "ringback_timout" (did you mean "ringback_timeout"?); a slot entry has ` + slotKeys}},
		{"default_ key inside a slot", `{"slots": {"100": {"default_ringback_timeout": 30000}}}`,
			[]string{k + `slots.100.default_ringback_timeout: unknown key "default_ringback_timeout"; a slot entry has ` + slotKeys}},

		// unknown keys and wrapping
		{"unknown key", `{"module": "park"}`, []string{k + `module: unknown key "module"; a Kazoo park data object has ` + topKeys}},
		{"mistyped key", `{"acton": "park"}`, []string{k + `acton: unknown key "acton" (did you mean "action"?); a Kazoo park data object has ` + topKeys}},
		{"unknown null key", `{"ringback_timeout": null}`,
			[]string{k + `ringback_timeout: unknown key "ringback_timeout"; a Kazoo park data object has ` + topKeys}},
		{"data beside other keys", `{"data": {}, "module": "park"}`, []string{
			k + `data: unknown key "data" (a wrapping data object must be the only key); a Kazoo park data object has ` + topKeys,
			k + `module: unknown key "module"; a Kazoo park data object has ` + topKeys,
		}},
		{"data not an object", `{"data": 5}`, []string{k + "data: must be the park callflow's data object, not a number (5)"}},
		{"error inside wrapped data", `{"data": {"slots": {"100": {"ringback_timeout": "x"}}}}`,
			[]string{k + `data.slots.100.ringback_timeout: must be a whole number of milliseconds, not a string ("x")`}},

		// several, in key order
		{"errors in key order", `{"slots": {"101": {"presence_type": "x"}, "100": {"callback_timeout": 1}},
			"skip_module": true, "action": "x", "default_presence_type": "y"}`, []string{
			k + `action: must be one of park, direct_park, retrieve, auto (got "x")`,
			k + `default_presence_type: must be one of early, confirmed, terminated (got "y")`,
			k + "skip_module: true has no parkd equivalent (parkd has no callflow to skip to); remove it or set it to false",
			k + "slots.100.callback_timeout: must be between 5000 and 600000 ms (got 1)",
			k + `slots.101.presence_type: must be one of early, confirmed, terminated (got "x")`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := ParseKazoo(decodeKazooJSON(t, tt.data), "lots[0].kazoo", kazooInLot(kazooTestLot))
			if got := kazooErrors(errs); !slices.Equal(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestParseKazooPartial: what passed is kept beside the errors, and an
// empty path names keys bare.
func TestParseKazooPartial(t *testing.T) {
	got, errs := ParseKazoo(map[string]any{
		"action":                   "park",
		"default_ringback_timeout": "x",
		"slots":                    map[string]any{"100": map[string]any{"callback_timeout": 20000, "presence_type": "y"}},
	}, "", nil)
	want := KazooPark{
		Action:  SlotActionPark,
		Slots:   map[string]Policy{"100": {RingParkerFor: secs(20)}},
		Sources: map[string]string{"slot_action": "action", "slots.100.ring_parker_for": "slots.100.callback_timeout"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %s\nwant %s", kazooShow(got), kazooShow(want))
	}
	wantErrs := []string{
		`default_ringback_timeout: must be a whole number of milliseconds, not a string ("x")`,
		`slots.100.presence_type: must be one of early, confirmed, terminated (got "y")`,
	}
	if got := kazooErrors(errs); !slices.Equal(got, wantErrs) {
		t.Errorf("errors %q, want %q", got, wantErrs)
	}
}

// TestKazooConfigErrorKeys: config validation reports the Kazoo object's
// mistakes under the config's own key paths (YAML ints, not floats).
func TestKazooConfigErrorKeys(t *testing.T) {
	cfg := mustParse(t, "lots:\n  - name: main\n    extension: \"99\"\n    slots: \"100-119\"\n")
	if err := yaml.Unmarshal([]byte(`{slots: {"100": {callback_timeout: 26}, "130": {}}, max_slot_number: 0.5}`), &cfg.Lots[0].Kazoo); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range cfg.Problems() {
		got = append(got, e.Key+": "+e.Msg)
	}
	want := []string{
		"lots[0].kazoo.max_slot_number: must be a whole number between 1 and 999999999 (got 0.5)",
		"lots[0].kazoo.slots.100.callback_timeout: must be between 5000 and 600000 ms (got 26)",
		`lots[0].kazoo.slots.130: "130" is not a slot of this lot`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := ParseConfig([]byte("lots:\n  - name: main\n    extension: \"99\"\n    slots: \"100-119\"\n    kazoo: {default_ringback_timeout: 3000}\n")); err == nil ||
		!strings.Contains(err.Error(), "lots[0].kazoo.default_ringback_timeout: must be between 5000 and 3600000 ms (got 3000)") {
		t.Errorf("ParseConfig with a Kazoo ringback of 3 s: error %v", err)
	}
}

// FuzzParseKazoo: any JSON object maps without panicking, and whatever is
// mapped without errors is valid in parkd's terms.
func FuzzParseKazoo(f *testing.F) {
	for _, s := range []string{
		"{\n" + kazooDocDataObject + "\n}",
		kazooDocFlowData,
		`{}`,
		`{"data": {"slot": 101, "max_slot_number": 119, "presence_id": "p@h", "custom_presence_id": true}}`,
		`{"slots": {"100": {"presence_type": "terminated", "presence_id": "*3100"}, "x": null}, "action": "retrieve"}`,
		`{"default_ringback_timeout": 1e300, "default_callback_timeout": -0.5, "slot": [1], "skip_module": false}`,
		`{"data": {"data": {}}, "slots": {"100": {"ringback_timeout": 9223372036854775807}}}`,
	} {
		f.Add([]byte(s))
	}
	inLot := kazooInLot(kazooTestLot)
	f.Fuzz(func(t *testing.T, text []byte) {
		var data map[string]any
		if json.Unmarshal(text, &data) != nil {
			return
		}
		got, errs := ParseKazoo(data, "lots[0].kazoo", inLot)
		for _, e := range errs {
			if !strings.HasPrefix(e.Key, "lots[0].kazoo") || e.Msg == "" {
				t.Fatalf("bad error %q", e)
			}
		}
		if len(errs) > 0 {
			return
		}
		if got.Action != "" && !slices.Contains(slotActionValues, got.Action) {
			t.Fatalf("action %q", got.Action)
		}
		if got.Slot != "" && !inLot(got.Slot) {
			t.Fatalf("slot %q", got.Slot)
		}
		if got.MaxSlot < 0 {
			t.Fatalf("max slot %d", got.MaxSlot)
		}
		check := func(name string, p Policy) {
			if err := p.Validate(name); err != nil {
				t.Fatalf("%s: %v (from %s)", name, err, text)
			}
		}
		check("lot", got.Lot)
		for name, p := range got.Slots {
			if !inLot(name) || p.IsZero() {
				t.Fatalf("slot %q: %s", name, kazooShow(got))
			}
			check(name, p)
		}
	})
}
