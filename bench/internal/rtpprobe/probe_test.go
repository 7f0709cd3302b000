package rtpprobe

import (
	"testing"
	"time"
)

// stream is arrival times every 20 ms, with late[i] added to packet i.
func stream(n int, late map[int]time.Duration) []time.Time {
	t0 := time.Unix(1000, 0)
	at := make([]time.Time, n)
	for i := range at {
		at[i] = t0.Add(time.Duration(i)*20*time.Millisecond + late[i])
	}
	return at
}

func TestMeasure(t *testing.T) {
	for _, tc := range []struct {
		name    string
		streams [][]time.Time
		window  time.Duration
		want    Pacing
		onTime  bool
	}{
		{
			name:    "steady",
			streams: [][]time.Time{stream(50, nil), stream(50, nil)},
			window:  time.Second,
			want:    Pacing{MinPacketsPerSec: 50, Streams: 2},
			onTime:  true,
		},
		{
			name: "one packet 5 ms late counts twice",
			// 49 gaps: one 25 ms, one 15 ms, the rest 20 ms.
			streams: [][]time.Time{stream(50, map[int]time.Duration{10: 5 * time.Millisecond})},
			window:  time.Second,
			want:    Pacing{MinPacketsPerSec: 50, JitterP99Ms: 5, JitterMaxMs: 5, Streams: 1},
			onTime:  false,
		},
		{
			name:    "the slowest stream sets the minimum",
			streams: [][]time.Time{stream(50, nil), stream(40, nil)},
			window:  time.Second,
			want:    Pacing{MinPacketsPerSec: 40, Streams: 2},
			onTime:  false,
		},
		{
			name:    "nothing arrived",
			streams: [][]time.Time{nil},
			window:  time.Second,
			want:    Pacing{MinPacketsPerSec: 0, Streams: 1},
			onTime:  false,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var probes []*Probe
			for _, at := range tc.streams {
				probes = append(probes, &Probe{at: at})
			}
			got := Measure(probes, tc.window)
			if got != tc.want {
				t.Errorf("Measure = %+v, want %+v", got, tc.want)
			}
			if got.OnTime() != tc.onTime {
				t.Errorf("OnTime = %v, want %v", got.OnTime(), tc.onTime)
			}
		})
	}
}

func TestWorseKeepsTheWorstOfEachField(t *testing.T) {
	a := Pacing{MinPacketsPerSec: 50, JitterP50Ms: 0.2, JitterP99Ms: 3, JitterMaxMs: 4}
	b := Pacing{MinPacketsPerSec: 48, JitterP50Ms: 0.4, JitterP99Ms: 1, JitterMaxMs: 9}
	want := Pacing{MinPacketsPerSec: 48, JitterP50Ms: 0.4, JitterP99Ms: 3, JitterMaxMs: 9}
	if got := Worse(a, b, false); got != want {
		t.Errorf("Worse = %+v, want %+v", got, want)
	}
	if got := Worse(Pacing{}, b, true); got != b {
		t.Errorf("Worse of the first window = %+v, want it unchanged %+v", got, b)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 3},
	} {
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
