// Command run is parkd's benchmark harness: it runs every performance
// scenario (call setup, music on hold against the kernel's floor, BLF
// fan-out, allocations on the packet paths) at one scale and writes a JSON
// summary, so docs/PERFORMANCE.md is refreshed from one command:
//
//	go run ./bench/run -scale full -out bench-summary.json
//
// Scenarios run one after another, never side by side, each with a fresh
// daemon where it needs one. A scenario that fails is recorded as failed
// and the others still run; the exit status is 1 if any failed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// summary is the JSON the harness writes.
type summary struct {
	Revision  string   `json:"revision"`
	Started   string   `json:"started"`
	Scale     string   `json:"scale"`
	CPUs      int      `json:"cpus"`
	Go        string   `json:"go"`
	Kernel    string   `json:"kernel"`
	Scenarios []result `json:"scenarios"`
}

// result is one scenario's outcome.
type result struct {
	Name    string             `json:"name"`
	Target  string             `json:"target"`
	Command string             `json:"command"`
	OK      bool               `json:"ok"`
	Error   string             `json:"error,omitempty"`
	Seconds float64            `json:"seconds"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
	Notes   map[string]string  `json:"notes,omitempty"` // figures that are not numbers
}

func main() {
	scale := flag.String("scale", "quick", "quick (minutes, a smoke run) or full (the figures in docs/PERFORMANCE.md)")
	out := flag.String("out", "bench-summary.json", "where to write the JSON summary")
	only := flag.String("only", "", "comma-separated scenario names to run (default: all)")
	list := flag.Bool("list", false, "list the scenarios and exit")
	pause := flag.Duration("pause", 10*time.Second, "idle time between scenarios, so one does not measure the last one's aftermath")
	flag.Parse()

	root, err := repoRoot()
	if err != nil {
		fatal(err)
	}
	all := scenarios()
	if *list {
		for _, sc := range all {
			fmt.Printf("%-16s %s\n", sc.name, sc.target)
		}
		return
	}
	if *scale != "quick" && *scale != "full" {
		fatal(fmt.Errorf("unknown -scale %q (quick or full)", *scale))
	}
	chosen := all
	if *only != "" {
		names := strings.Split(*only, ",")
		chosen = nil
		for _, sc := range all {
			if slices.Contains(names, sc.name) {
				chosen = append(chosen, sc)
			}
		}
		if len(chosen) != len(names) {
			fatal(fmt.Errorf("-only %q names a scenario that does not exist (see -list)", *only))
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	sum := summary{
		Revision: gitRevision(root), Started: time.Now().UTC().Format(time.RFC3339), Scale: *scale,
		CPUs: runtime.NumCPU(), Go: runtime.Version(), Kernel: kernelRelease(),
	}
	failed := false
	for i, sc := range chosen {
		if i > 0 && *pause > 0 {
			// The last scenario's processes have exited, but the box takes
			// a moment to settle (a 400/s run straight after the 1,000/s
			// one fell behind twice, and never alone).
			select {
			case <-ctx.Done():
			case <-time.After(*pause):
			}
		}
		fmt.Fprintf(os.Stderr, "%s  %s: %s\n", time.Now().Format("15:04:05"), sc.name, sc.target)
		r := sc.run(ctx, root, *scale)
		fmt.Fprintf(os.Stderr, "%s  %s: ok=%v in %.0f s %s\n", time.Now().Format("15:04:05"), sc.name, r.OK, r.Seconds, r.Error)
		failed = failed || !r.OK
		sum.Scenarios = append(sum.Scenarios, r)
		if ctx.Err() != nil {
			break
		}
	}
	b, _ := json.MarshalIndent(sum, "", "  ")
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		fatal(err)
	}
	fmt.Fprintf(os.Stderr, "summary written to %s\n", *out)
	if failed {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "bench/run: %v\n", err)
	os.Exit(2)
}

// repoRoot is the module's root, so the harness runs from any directory.
func repoRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run inside the parkd repository")
	}
	return strings.TrimSuffix(mod, "/go.mod"), nil
}

func gitRevision(root string) string {
	b, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
