package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// run starts pairs for -d (or -n), waits for the last ones to end and
// returns the summary.
func (g *gen) run() result {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); g.readLoop() }()
	if g.cfg.rtp {
		wg.Add(1)
		go func() { defer wg.Done(); g.rtpLoop(stop) }()
	}
	cpu0, self0 := procTicks(g.cfg.pid), procTicks(os.Getpid())
	t0 := time.Now()
	tk := time.NewTicker(2 * time.Millisecond)
	var sendEnd time.Time
	for now := range tk.C {
		g.mu.Lock()
		starting := now.Sub(t0) < g.cfg.dur && (g.cfg.maxPairs == 0 || g.started < g.cfg.maxPairs)
		if !starting && sendEnd.IsZero() {
			sendEnd = now
		}
		g.tick(now, t0, starting)
		over := !starting && g.open == 0
		g.mu.Unlock()
		if over {
			break
		}
	}
	tk.Stop()
	t1 := time.Now()
	cpu1, self1 := procTicks(g.cfg.pid), procTicks(os.Getpid())
	close(stop)
	g.sip.Close()
	wg.Wait()

	g.mu.Lock()
	defer g.mu.Unlock()
	r := result{
		Target: g.cfg.target.String(), Rate: g.cfg.rate, Duration: g.cfg.dur.Seconds(),
		HoldS: g.cfg.hold.Seconds(), RTP: g.cfg.rtp,
		Attempted: g.st.attempted, Completed: g.st.completed, Failed: g.st.failed,
		Park503: g.st.park503, Retrieve503: g.st.ret503, Timeouts: g.st.timeouts, OtherFailures: g.st.other,
		FailCodes: map[string]int{}, Retransmissions: g.st.retrans, Trying: g.st.trying,
		AchievedRate: float64(g.st.attempted) / sendEnd.Sub(t0).Seconds(),
		Park:         percentiles(g.st.parkLat), Retrieve: percentiles(g.st.retLat),
		WallS: t1.Sub(t0).Seconds(), RTPPacketsSent: g.st.rtpSent,
	}
	for c, n := range g.st.failCodes {
		r.FailCodes[strconv.Itoa(c)] = n
	}
	const hz = 100 // USER_HZ on Linux
	if g.cfg.pid > 0 && cpu0 >= 0 && cpu1 >= 0 {
		cpu := float64(cpu1-cpu0) / hz
		r.ParkdCPUPercent = cpu / r.WallS * 100
		if r.Completed > 0 {
			r.ParkdCPUPerPairMs = cpu / float64(r.Completed) * 1000
			r.ParkdCPUPerCallMs = r.ParkdCPUPerPairMs / 2
		}
	}
	r.GeneratorCPUPercent = float64(self1-self0) / hz / r.WallS * 100
	return r
}

func (g *gen) readLoop() {
	buf := make([]byte, 65536)
	var m msg
	for {
		n, _, err := g.sip.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if !parse(buf[:n], &m) {
			continue
		}
		now := time.Now()
		g.mu.Lock()
		g.receive(&m, now)
		g.mu.Unlock()
	}
}

// rtpLoop sends one 20 ms packet from every answered call per tick; the
// calls' sockets are never read (the kernel drops what parkd sends once
// a socket's buffer is full), which is the cheapest way to ignore it.
func (g *gen) rtpLoop(stop <-chan struct{}) {
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	var legs []*leg
	for {
		select {
		case <-stop:
			return
		case <-tk.C:
		}
		g.mu.Lock()
		keep := g.rtpLegs[:0]
		for _, l := range g.rtpLegs {
			if l.state == up {
				keep = append(keep, l)
			}
		}
		clear(g.rtpLegs[len(keep):])
		g.rtpLegs = keep
		legs = append(legs[:0], keep...)
		g.mu.Unlock()
		sent := 0
		for _, l := range legs {
			p := &l.pkt
			if l.ts == 0 {
				p[0], p[1] = 0x80, 0
				binary.BigEndian.PutUint32(p[8:], rand.Uint32())
				for i := 12; i < len(p); i++ {
					p[i] = 0xff // µ-law silence
				}
				l.seq = uint16(rand.Uint32())
				l.ts = rand.Uint32() | 1
			}
			l.seq++
			l.ts += 160
			binary.BigEndian.PutUint16(p[2:], l.seq)
			binary.BigEndian.PutUint32(p[4:], l.ts)
			if _, err := l.rtp.WriteToUDPAddrPort(p[:], l.rtpDst); err == nil {
				sent++
			}
		}
		g.mu.Lock()
		g.st.rtpSent += int64(sent)
		g.mu.Unlock()
	}
}

// procTicks is utime+stime of a process in clock ticks; -1 when unknown.
func procTicks(pid int) int64 {
	if pid <= 0 {
		return -1
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	s := string(b)
	s = s[strings.LastIndexByte(s, ')')+2:] // comm may hold spaces
	f := strings.Fields(s)
	if len(f) < 13 {
		return -1
	}
	u, _ := strconv.ParseInt(f[11], 10, 64) // field 14 of stat
	k, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return u + k
}

type latency struct {
	N     int     `json:"n"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Under int     `json:"under_10ms"`
}

func percentiles(d []time.Duration) latency {
	if len(d) == 0 {
		return latency{}
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) float64 {
		i := int(q*float64(len(s))+0.999999) - 1
		return float64(s[max(0, min(i, len(s)-1))].Microseconds()) / 1000
	}
	under := sort.Search(len(s), func(i int) bool { return s[i] >= 10*time.Millisecond })
	return latency{N: len(s), P50: at(.5), P90: at(.9), P99: at(.99), Max: at(1), Under: under}
}

type result struct {
	Target              string         `json:"target"`
	Rate                float64        `json:"rate_offered"`
	AchievedRate        float64        `json:"rate_achieved"`
	Duration            float64        `json:"duration_s"`
	HoldS               float64        `json:"hold_s"`
	RTP                 bool           `json:"rtp"`
	Attempted           int            `json:"pairs_attempted"`
	Completed           int            `json:"pairs_completed"`
	Failed              int            `json:"pairs_failed"`
	Park503             int            `json:"park_503"`
	Retrieve503         int            `json:"retrieve_503"`
	Timeouts            int            `json:"timeouts"`
	OtherFailures       int            `json:"other_failures"`
	FailCodes           map[string]int `json:"failures_by_code"`
	Retransmissions     int            `json:"retransmissions"`
	Trying              int            `json:"invites_with_100_trying"`
	Park                latency        `json:"park_invite_200"`
	Retrieve            latency        `json:"retrieve_invite_200"`
	WallS               float64        `json:"wall_s"`
	RTPPacketsSent      int64          `json:"rtp_packets_sent"`
	ParkdCPUPercent     float64        `json:"parkd_cpu_percent,omitempty"`
	ParkdCPUPerPairMs   float64        `json:"parkd_cpu_ms_per_pair,omitempty"`
	ParkdCPUPerCallMs   float64        `json:"parkd_cpu_ms_per_call,omitempty"`
	GeneratorCPUPercent float64        `json:"generator_cpu_percent"`
}

func (r result) print(w io.Writer) {
	fmt.Fprintf(w, "loadgen → %s: offered %.0f pairs/s, achieved %.1f/s for %.0f s, hold %.1f s, RTP %v\n",
		r.Target, r.Rate, r.AchievedRate, r.Duration, r.HoldS, r.RTP)
	fmt.Fprintf(w, "  pairs: %d attempted, %d completed, %d failed (timeouts %d, 503 park %d / retrieve %d, by code %v, other %d)\n",
		r.Attempted, r.Completed, r.Failed, r.Timeouts, r.Park503, r.Retrieve503, r.FailCodes, r.OtherFailures)
	fmt.Fprintf(w, "  retransmissions %d, INVITEs that saw 100 Trying %d, RTP packets sent %d\n", r.Retransmissions, r.Trying, r.RTPPacketsSent)
	for _, x := range []struct {
		name string
		l    latency
	}{{"park     INVITE→200", r.Park}, {"retrieve INVITE→200", r.Retrieve}} {
		fmt.Fprintf(w, "  %s: n=%d p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", x.name, x.l.N, x.l.P50, x.l.P90, x.l.P99, x.l.Max)
	}
	if r.ParkdCPUPercent > 0 {
		fmt.Fprintf(w, "  parkd CPU %.1f %% of a core over %.1f s: %.3f ms per pair, %.3f ms per call\n",
			r.ParkdCPUPercent, r.WallS, r.ParkdCPUPerPairMs, r.ParkdCPUPerCallMs)
	}
	fmt.Fprintf(w, "  generator CPU %.1f %% of a core\n", r.GeneratorCPUPercent)
}
