package main

import (
	"strconv"
	"strings"
)

// parseGoBench turns `go test -bench` output into metrics named
// "<benchmark>.<unit>": "BenchmarkRelay-2  1000  812 ns/op  0 allocs/op"
// gives "Relay.ns/op": 812 and "Relay.allocs/op": 0. A benchmark that ran
// more than once keeps its last figures; lines that are not results are
// skipped.
func parseGoBench(out string) map[string]float64 {
	metrics := map[string]float64{}
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(fields[1], 10, 64); err != nil {
			continue // "BenchmarkX" alone, or a log line starting with the name
		}
		name := strings.TrimPrefix(fields[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				break
			}
			metrics[name+"."+fields[i+1]] = v
		}
	}
	return metrics
}
