package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadFiguresFlattens(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		metrics map[string]float64
		notes   map[string]string
	}{
		{"numbers and bools are metrics", `{"ratio": 1.05, "on_time": true}`,
			map[string]float64{"ratio": 1.05, "on_time": 1}, map[string]string{}},
		{"objects are flattened with dots", `{"a": {"mode": "floor", "cpu": 60.5}}`,
			map[string]float64{"a.cpu": 60.5}, map[string]string{"a.mode": "floor"}},
		{"lists stay JSON in a note", `{"per_round": [{"ratio": 1.2}, {"ratio": 1.1}]}`,
			map[string]float64{}, map[string]string{"per_round": `[{"ratio":1.2},{"ratio":1.1}]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "figures.json")
			if err := os.WriteFile(path, []byte(tt.json), 0o600); err != nil {
				t.Fatal(err)
			}
			notes := map[string]string{}
			metrics, err := readFigures(path, notes)
			if err != nil {
				t.Fatal(err)
			}
			if len(metrics) != len(tt.metrics) {
				t.Errorf("metrics %v, want %v", metrics, tt.metrics)
			}
			for k, v := range tt.metrics {
				if metrics[k] != v {
					t.Errorf("metric %s = %v, want %v", k, metrics[k], v)
				}
			}
			if len(notes) != len(tt.notes) {
				t.Errorf("notes %v, want %v", notes, tt.notes)
			}
			for k, v := range tt.notes {
				if notes[k] != v {
					t.Errorf("note %s = %q, want %q", k, notes[k], v)
				}
			}
		})
	}
}
