package proccpu

import (
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		line string
		want time.Duration
		ok   bool
	}{
		{"plain", "4242 (parkd) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 9 0 100 0 0", 2 * time.Second, true},
		{"a command with spaces and parentheses", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0", 70 * time.Millisecond, true},
		{"cut short", "7 (x) R 1 7", 0, false},
		{"no command", "garbage", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseStat(tt.line)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseStat = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestOfReadsThisProcess(t *testing.T) {
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) { // burn enough to show in 10 ms ticks
	}
	if cpu, ok := Of(os.Getpid()); !ok || cpu <= 0 {
		t.Errorf("Of(self) = %v, %v; want some CPU", cpu, ok)
	}
	if _, ok := Of(0); ok {
		t.Error("Of(0) reported a process")
	}
}
