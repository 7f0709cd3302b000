// Command flood sends out-of-dialog OPTIONS to a running parkd from several
// 127/8 source addresses at a fixed total rate, while a canary call sits
// parked, and reports what came back, the canary's music rate and the
// daemon's memory.
//
//	go run ./bench/flood -target 127.0.0.1:25060 -rate 5000 -duration 10s -sources 5 -pid $(pidof parkd)
//
// Each source is its own address (127.0.0.10, .11, …), so a per-source rate
// limit sees several flooders. The canary dials -park from 127.0.0.1, sends
// RTP every 20 ms and counts parkd's music per second; the report gives the
// lowest and mean packets per second during the flood (50 is unbroken) and
// the longest gap. RSS is read from /proc/PID/status (VmRSS, VmHWM).
// -method floods with another request (MESSAGE, INVITE, …) instead.
//
// options.xml is the same OPTIONS flood for sipp, a tool that retransmits:
//
//	sipp -sf bench/flood/options.xml -r 5000 -m 50000 -i 127.0.0.10 127.0.0.1:25060
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	target := flag.String("target", "127.0.0.1:5060", "parkd's SIP UDP address")
	rate := flag.Int("rate", 5000, "OPTIONS per second, all sources together")
	duration := flag.Duration("duration", 10*time.Second, "how long to flood")
	sources := flag.Int("sources", 5, "source addresses 127.0.0.10 onwards")
	park := flag.String("park", "700", "extension the canary dials; \"\" for no canary")
	pid := flag.Int("pid", 0, "parkd's process id, for RSS")
	settle := flag.Duration("settle", 2*time.Second, "wait after the flood before the last RSS reading")
	method := flag.String("method", "OPTIONS", "the request to flood with, outside any dialog (OPTIONS, MESSAGE, BYE, …)")
	flag.Parse()

	dst, err := net.ResolveUDPAddr("udp", *target)
	if err != nil {
		fail(err)
	}
	var canary *canaryCall
	if *park != "" {
		if canary, err = dialCanary(dst, *park); err != nil {
			fail(fmt.Errorf("canary: %w", err))
		}
		time.Sleep(time.Second) // music settles
	}
	rssBefore := rss(*pid, "VmRSS")

	var sent atomic.Int64
	var codes sync.Map // status code -> *atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	if canary != nil {
		canary.startWindow(start)
	}
	for i := range *sources {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, byte(10+i))})
		if err != nil {
			fail(err)
		}
		defer conn.Close()
		go readCodes(conn, &codes)
		wg.Add(1)
		go func() {
			defer wg.Done()
			flood(conn, dst, *method, float64(*rate)/float64(*sources), start, *duration, &sent)
		}()
	}
	wg.Wait()
	floodEnd := time.Now()
	rssEnd := rss(*pid, "VmRSS")
	if canary != nil {
		canary.stopWindow(floodEnd)
	}
	time.Sleep(*settle)
	rssSettled, hwm := rss(*pid, "VmRSS"), rss(*pid, "VmHWM")

	fmt.Printf("flood: %d %s in %s from %d sources (%.0f/s) to %s\n", sent.Load(), *method, floodEnd.Sub(start).Round(time.Millisecond),
		*sources, float64(sent.Load())/floodEnd.Sub(start).Seconds(), *target)
	var keys []int
	codes.Range(func(k, _ any) bool { keys = append(keys, k.(int)); return true })
	sort.Ints(keys)
	var answered int64
	for _, k := range keys {
		v, _ := codes.Load(k)
		n := v.(*atomic.Int64).Load()
		answered += n
		fmt.Printf("  %d: %d\n", k, n)
	}
	fmt.Printf("  unanswered: %d\n", sent.Load()-answered)
	if *pid > 0 {
		fmt.Printf("rss: before %s, at the end of the flood %s, %s later %s, peak (VmHWM) %s\n",
			mib(rssBefore), mib(rssEnd), *settle, mib(rssSettled), mib(hwm))
	}
	if canary != nil {
		canary.report()
		canary.hangup()
	}
}

func flood(conn *net.UDPConn, dst *net.UDPAddr, method string, perSecond float64, start time.Time, d time.Duration, sent *atomic.Int64) {
	interval := time.Duration(float64(time.Second) / perSecond)
	local := conn.LocalAddr().(*net.UDPAddr)
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.Sub(start) >= d {
			return
		}
		if wait := time.Until(at); wait > time.Millisecond {
			time.Sleep(wait)
		}
		id := strconv.FormatUint(rand.Uint64(), 36)
		msg := fmt.Sprintf("%s sip:parkd@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n"+
			"From: <sip:flood@%s>;tag=%s\r\nTo: <sip:parkd@%s>\r\nCall-ID: %s@flood\r\nCSeq: 1 %s\r\n"+
			"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", method, dst, local, id, local.IP, id, dst, id, method)
		if _, err := conn.WriteToUDP([]byte(msg), dst); err == nil {
			sent.Add(1)
		}
	}
}

func readCodes(conn *net.UDPConn, codes *sync.Map) {
	buf := make([]byte, 65535)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		line, _, _ := bytes.Cut(buf[:n], []byte("\r\n"))
		f := strings.Fields(string(line))
		if len(f) < 2 || f[0] != "SIP/2.0" {
			continue
		}
		code, _ := strconv.Atoi(f[1])
		v, _ := codes.LoadOrStore(code, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
}

// canaryCall is a parked call whose music is counted per second.
type canaryCall struct {
	sip, rtp          *net.UDPConn
	dst               *net.UDPAddr
	callID, tag, toHd string
	mu                sync.Mutex
	arrivals          []time.Time
	from, to          time.Time
	stop              chan struct{}
	remote            atomic.Pointer[net.UDPAddr] // where parkd's music comes from
}

func dialCanary(dst *net.UDPAddr, ext string) (*canaryCall, error) {
	sipConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	c := &canaryCall{sip: sipConn, rtp: rtpConn, dst: dst, callID: strconv.FormatUint(rand.Uint64(), 36) + "@canary",
		tag: "canary", stop: make(chan struct{})}
	local := sipConn.LocalAddr().(*net.UDPAddr)
	rtpPort := rtpConn.LocalAddr().(*net.UDPAddr).Port
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=sendrecv\r\n", rtpPort)
	invite := fmt.Sprintf("INVITE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKcanary1;rport\r\n"+
		"From: <sip:canary@%s>;tag=%s\r\nTo: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:canary@%s>\r\n"+
		"Max-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		ext, dst, local, local.IP, c.tag, ext, dst, c.callID, local, len(sdp), sdp)
	if _, err := sipConn.WriteToUDP([]byte(invite), dst); err != nil {
		return nil, err
	}
	buf := make([]byte, 65535)
	sipConn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, err := sipConn.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("no 200 for the INVITE: %w", err)
		}
		msg := string(buf[:n])
		if !strings.HasPrefix(msg, "SIP/2.0 200") {
			if strings.HasPrefix(msg, "SIP/2.0 1") {
				continue
			}
			line, _, _ := strings.Cut(msg, "\r\n")
			return nil, fmt.Errorf("INVITE answered %s", line)
		}
		c.toHd = header(msg, "To")
		break
	}
	sipConn.SetReadDeadline(time.Time{})
	c.send("ACK", 1)
	go c.readRTP()
	go c.sendRTP()
	go func() { // drain whatever else parkd sends (retransmitted 200s)
		for {
			if _, err := sipConn.Read(buf); err != nil {
				return
			}
		}
	}()
	return c, nil
}

func header(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (c *canaryCall) send(method string, cseq int) {
	local := c.sip.LocalAddr().(*net.UDPAddr)
	msg := fmt.Sprintf("%s sip:parkd@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nFrom: <sip:canary@%s>;tag=%s\r\n"+
		"To: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		method, c.dst, local, strconv.FormatUint(rand.Uint64(), 36), local.IP, c.tag, c.toHd, c.callID, cseq, method)
	c.sip.WriteToUDP([]byte(msg), c.dst)
}

func (c *canaryCall) readRTP() {
	buf := make([]byte, 2048)
	for {
		_, from, err := c.rtp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if c.remote.Load() == nil {
			c.remote.Store(from)
		}
		now := time.Now()
		c.mu.Lock()
		if !c.from.IsZero() && (c.to.IsZero() || now.Before(c.to)) {
			c.arrivals = append(c.arrivals, now)
		}
		c.mu.Unlock()
	}
}

// sendRTP sends silence every 20 ms, as a caller would.
func (c *canaryCall) sendRTP() {
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 0
	for i := range pkt[12:] {
		pkt[12+i] = 0xff
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for seq := uint16(0); ; seq++ {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		remote := c.remote.Load()
		if remote == nil {
			continue // parkd's RTP address is learned from its music
		}
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		c.rtp.WriteToUDP(pkt, remote)
	}
}

func (c *canaryCall) startWindow(t time.Time) { c.mu.Lock(); c.from = t; c.mu.Unlock() }
func (c *canaryCall) stopWindow(t time.Time)  { c.mu.Lock(); c.to = t; c.mu.Unlock() }

func (c *canaryCall) report() {
	c.mu.Lock()
	defer c.mu.Unlock()
	window := c.to.Sub(c.from)
	secs := int(window / time.Second) // whole seconds; the lowest rate is over those
	if secs == 0 {
		return
	}
	per := make([]int, secs)
	var gap time.Duration
	prev := c.from
	for _, a := range c.arrivals {
		if i := int(a.Sub(c.from) / time.Second); i < secs {
			per[i]++
		}
		gap = max(gap, a.Sub(prev))
		prev = a
	}
	gap = max(gap, c.to.Sub(prev))
	lowest := per[0]
	for _, n := range per {
		lowest = min(lowest, n)
	}
	fmt.Printf("canary music: %d packets in %s, lowest %d/s, mean %.1f/s (50 is unbroken), longest gap %s\n",
		len(c.arrivals), window.Round(time.Millisecond), lowest, float64(len(c.arrivals))/window.Seconds(), gap.Round(time.Millisecond))
}

func (c *canaryCall) hangup() {
	close(c.stop)
	c.send("BYE", 2)
	time.Sleep(200 * time.Millisecond)
}

func rss(pid int, field string) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "flood:", err)
	os.Exit(1)
}
