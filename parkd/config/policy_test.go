package config

import (
	"reflect"
	"testing"
	"time"
)

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
