package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc CPU times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// cpuSnapshot is CPU time so far: the machine's (busy and total, all
// cores), the daemon's and this process's, in clock ticks.
type cpuSnapshot struct {
	at                 time.Time
	busy, total        int64
	daemon, self       int64
	haveMachine, haveD bool
}

// CPUUsage is CPU over the run in percent of one core; Others is what
// every other process on the machine used meanwhile (a neighbour's build
// shows up as canary silences that are not the daemon's fault).
type CPUUsage struct {
	Cores   int     `json:"cores"`
	Daemon  float64 `json:"daemon_pct"`
	Sipfuzz float64 `json:"sipfuzz_pct"`
	Others  float64 `json:"others_pct"`
}

func (u CPUUsage) String() string {
	return fmt.Sprintf("daemon %.0f%%, sipfuzz %.0f%%, everything else %.0f%% (of one core; %d cores)", u.Daemon, u.Sipfuzz, u.Others, u.Cores)
}

func readCPU(pid int) cpuSnapshot {
	s := cpuSnapshot{at: time.Now()}
	if data, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		f := strings.Fields(line)
		if len(f) > 5 && f[0] == "cpu" {
			for i, v := range f[1:] {
				n, _ := strconv.ParseInt(v, 10, 64)
				if i >= 8 { // guest times are already in user and nice
					break
				}
				s.total += n
				if i != 3 && i != 4 { // idle, iowait
					s.busy += n
				}
			}
			s.haveMachine = true
		}
	}
	s.daemon, s.haveD = procTicks(strconv.Itoa(pid))
	s.self, _ = procTicks("self")
	return s
}

// procTicks is utime+stime of /proc/WHO/stat.
func procTicks(who string) (int64, bool) {
	data, err := os.ReadFile("/proc/" + who + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	sy, _ := strconv.ParseInt(f[12], 10, 64)
	return u + sy, true
}

func (s cpuSnapshot) since(before cpuSnapshot) CPUUsage {
	u := CPUUsage{Cores: runtime.NumCPU()}
	secs := s.at.Sub(before.at).Seconds()
	if secs <= 0 {
		return u
	}
	pct := func(ticks int64) float64 { return math.Round(float64(ticks)/clockTicks/secs*1000) / 10 }
	if s.haveD && before.haveD {
		u.Daemon = pct(s.daemon - before.daemon)
	}
	u.Sipfuzz = pct(s.self - before.self)
	if s.haveMachine && before.haveMachine {
		u.Others = max(0, pct(s.busy-before.busy)-u.Daemon-u.Sipfuzz)
	}
	return u
}
