package main

import (
	"reflect"
	"testing"
)

func TestParseGoBench(t *testing.T) {
	cases := []struct {
		name string
		out  string
		want map[string]float64
	}{
		{
			name: "figures and custom metrics",
			out: "goos: linux\nBenchmarkRelay-2   \t 1000000\t      812.5 ns/op\t       0 B/op\t       0 allocs/op\n" +
				"BenchmarkBLFFanout1000-2  60  45315608 ns/op  20.49 recv-p50-ms  42.76 recv-p99-ms\nPASS\n",
			want: map[string]float64{
				"Relay.ns/op": 812.5, "Relay.B/op": 0, "Relay.allocs/op": 0,
				"BLFFanout1000.ns/op": 45315608, "BLFFanout1000.recv-p50-ms": 20.49, "BLFFanout1000.recv-p99-ms": 42.76,
			},
		},
		{
			name: "sub-benchmarks keep their path; a rerun keeps the last",
			out:  "BenchmarkMOHTick/2000-2 100 5 ns/op\nBenchmarkMOHTick/2000-2 100 7 ns/op\n",
			want: map[string]float64{"MOHTick/2000.ns/op": 7},
		},
		{
			name: "log lines and names alone are not results",
			out:  "BenchmarkRelay\nBenchmarkRelay-2 says hello 1 x\n--- FAIL: BenchmarkX\n",
			want: map[string]float64{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseGoBench(tc.out); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseGoBench = %v, want %v", got, tc.want)
			}
		})
	}
}
