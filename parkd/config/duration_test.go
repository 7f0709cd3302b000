package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

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
