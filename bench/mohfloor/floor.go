package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"time"
)

// runFloor is the kernel's floor for MOH: each listener is a UDP socket
// connected to its receiver (or, with connected=false, an unconnected one
// using sendto), and one goroutine per CPU writes a 172-byte RTP-shaped
// packet to each of its share every 20 ms on an absolute schedule. Nothing
// else: no locks, no per-listener state beyond the packet.
func runFloor(ctx context.Context, r *rig, connected bool) error {
	n := len(r.recv)
	socks := make([]*net.UDPConn, n)
	defer func() {
		for _, c := range socks {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range n {
		var c *net.UDPConn
		var err error
		if connected {
			c, err = net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(r.addr(i)))
		} else {
			c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		}
		if err != nil {
			return err
		}
		socks[i] = c
	}
	close(r.ready)
	workers := runtime.GOMAXPROCS(0)
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	stats := make([]walkStats, workers)
	start := time.Now().Add(frame)
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, n)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			stats[w] = floorWorker(ctx, r, socks[lo:hi], lo, start, connected)
		}()
	}
	wg.Wait()
	var all walkStats
	for _, s := range stats {
		all.walk = append(all.walk, s.walk...)
		all.late = append(all.late, s.late...)
	}
	return sendTimingReport(all.String())
}

const frame = 20 * time.Millisecond

func floorWorker(ctx context.Context, r *rig, socks []*net.UDPConn, first int, start time.Time, connected bool) walkStats {
	bufs := make([][172]byte, len(socks))
	for i := range bufs {
		bufs[i][0] = 0x80
		binary.BigEndian.PutUint32(bufs[i][8:], uint32(first+i))
	}
	targets := make([]*net.UDPAddr, len(socks))
	for i := range socks {
		targets[i] = net.UDPAddrFromAddrPort(r.addr(first + i))
	}
	var st walkStats
	timer := time.NewTimer(time.Until(start))
	defer timer.Stop()
	for k := 0; ; k++ {
		due := start.Add(time.Duration(k) * frame)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return st
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return st
		}
		woke := time.Now()
		for i, c := range socks {
			b := &bufs[i]
			binary.BigEndian.PutUint16(b[2:], uint16(k))
			binary.BigEndian.PutUint32(b[4:], uint32(k*160))
			if connected {
				c.Write(b[:])
			} else {
				c.WriteToUDP(b[:], targets[i])
			}
		}
		r.sent.Add(uint64(len(socks)))
		st.late = append(st.late, woke.Sub(due))
		st.walk = append(st.walk, time.Since(woke))
	}
}

// walkStats is a sender's own view: how late each wake-up was, and how
// long each walk over its listeners took.
type walkStats struct{ late, walk []time.Duration }

func (s walkStats) String() string {
	return fmt.Sprintf("wake-up late p50 %.3f p99 %.3f max %.3f ms; walk p50 %.3f p99 %.3f max %.3f ms",
		pct(s.late, 50), pct(s.late, 99), pct(s.late, 100), pct(s.walk, 50), pct(s.walk, 99), pct(s.walk, 100))
}

func pct(d []time.Duration, p int) float64 {
	if len(d) == 0 {
		return 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	return ms(d[min(len(d)-1, len(d)*p/100)])
}
