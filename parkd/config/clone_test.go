package config

import (
	"reflect"
	"testing"
	"time"
)

// Clone shares nothing with the original: editing the copy's lots,
// policies and maps leaves the original as it was.
func TestConfigCloneIsDeep(t *testing.T) {
	cfg, err := ParseConfig([]byte(ExampleConfig()))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Lots[0].Kazoo = map[string]any{"slots": map[string]any{"1": map[string]any{"ringback": "x"}}}
	cfg.Lots[0].SlotPolicies = map[string]Policy{"701": {RecallAfter: ptr(Duration(time.Minute))}}
	c := cfg.Clone()
	if !reflect.DeepEqual(c, cfg) {
		t.Fatal("the clone differs from the original")
	}
	c.Lots[0].Slots = "801-802"
	*c.Defaults.RecallAfter = Duration(time.Hour)
	c.Lots[0].SlotPolicies["701"] = Policy{}
	c.Lots[0].Kazoo["slots"].(map[string]any)["1"].(map[string]any)["ringback"] = "y"
	c.SIP.Allow[0] = "10.0.0.0/8"
	if cfg.Lots[0].Slots == "801-802" || cfg.Defaults.RecallAfter.D() == time.Hour ||
		cfg.Lots[0].SlotPolicies["701"].RecallAfter == nil || cfg.SIP.Allow[0] == "10.0.0.0/8" ||
		cfg.Lots[0].Kazoo["slots"].(map[string]any)["1"].(map[string]any)["ringback"] != "x" {
		t.Error("editing the clone changed the original")
	}
}
