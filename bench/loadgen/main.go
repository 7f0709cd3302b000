// Command loadgen drives parkd with park-then-retrieve call pairs over SIP
// UDP, as fast as one core allows: hand-built messages, one SIP socket,
// its own INVITE/ACK/BYE transactions (RFC 3261 Timers A and E), and RTP
// at 50 packets/s from every call's own socket, as phones send it.
//
// A pair: the caller INVITEs the park extension (700) and is parked; the
// retriever then INVITEs the lot's retrieve extension (*700, the longest
// waiting call), stays -hold and hangs up with BYE; parkd then hangs up the
// parked caller with BYE, which the generator answers 200. A pair is
// completed when all four transactions ended well, failed otherwise.
//
//	go run ./bench/loadgen -target 127.0.0.1:5060 -rate 1000 -d 20s -pid $(pidof parkd)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"
)

type config struct {
	target     netip.AddrPort
	local      string
	park, ret  string
	rate       float64
	dur        time.Duration
	head, hold time.Duration
	timeout    time.Duration
	rtp        bool
	pid        int
	jsonOut    bool
	maxPairs   int
}

func main() {
	var cfg config
	target := flag.String("target", "127.0.0.1:5060", "parkd's SIP UDP address (IP:port)")
	flag.StringVar(&cfg.local, "local", "", "local IP:port for the SIP socket (default: the target's IP, any port)")
	flag.StringVar(&cfg.park, "park", "700", "park extension")
	flag.StringVar(&cfg.ret, "retrieve", "*700", "retrieve extension (the longest-waiting call)")
	flag.Float64Var(&cfg.rate, "rate", 100, "pairs started per second")
	flag.DurationVar(&cfg.dur, "d", 10*time.Second, "how long to start pairs")
	flag.IntVar(&cfg.maxPairs, "n", 0, "stop after this many pairs (0: -d decides)")
	flag.DurationVar(&cfg.head, "head", 50*time.Millisecond, "from the park's 200 to the retrieve INVITE")
	flag.DurationVar(&cfg.hold, "hold", time.Second, "how long the retriever talks before BYE")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "a pair not over this long after its hold fails")
	flag.BoolVar(&cfg.rtp, "rtp", true, "send RTP (50 packets/s, 160-byte PCMU) from every answered call")
	flag.IntVar(&cfg.pid, "pid", 0, "parkd's pid: report its CPU time per call from /proc/PID/stat")
	flag.BoolVar(&cfg.jsonOut, "json", false, "print the summary as JSON")
	flag.Parse()
	ap, err := netip.ParseAddrPort(*target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen: -target must be IP:port:", err)
		os.Exit(2)
	}
	cfg.target = ap
	if cfg.rate <= 0 {
		fmt.Fprintln(os.Stderr, "loadgen: -rate must be positive")
		os.Exit(2)
	}
	g, err := newGen(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	res := g.run()
	if cfg.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res)
	} else {
		res.print(os.Stdout)
	}
	if res.Failed > 0 || res.Completed < res.Attempted {
		os.Exit(1)
	}
}

const (
	t1 = 500 * time.Millisecond
	t2 = 4 * time.Second
)

type legState uint8

const (
	inviting legState = iota
	up
	byeing
	ended
)

// leg is one call of a pair, with its one outstanding client transaction.
type leg struct {
	p        *pair
	retrieve bool
	callID   string
	fromTag  string
	toTag    string
	contact  string
	state    legState
	sentAt   time.Time // first INVITE
	next     time.Time // next retransmission
	rto      time.Duration
	provis   bool   // a 1xx stopped INVITE retransmission
	req      []byte // the request being retransmitted
	inviteBr string

	rtp    *net.UDPConn
	rtpDst netip.AddrPort
	pkt    [172]byte // RTP header + 160 bytes µ-law; touched by the RTP sender only
	seq    uint16
	ts     uint32
}

type pair struct {
	n         int
	start     time.Time
	park, ret *leg
	parkedAt  time.Time
	parkerBye bool // parkd's BYE to the parked caller arrived
	retByeOK  bool
	done      bool
	deadline  time.Time
}

type gen struct {
	cfg   config
	sip   *net.UDPConn
	local netip.AddrPort
	ip    string

	mu       sync.Mutex
	legs     map[string]*leg
	pending  map[*leg]struct{} // transactions that may need retransmitting
	pairs    []*pair           // by start time, for timeouts
	retrieve []*pair           // FIFO: park answered, retrieve due at start+head
	byes     []*leg            // FIFO: retrievers to hang up
	rtpLegs  []*leg
	out      []byte
	st       stats
	started  int
	open     int
}

type stats struct {
	attempted, completed, failed int
	park503, ret503, other       int
	failCodes                    map[int]int
	timeouts                     int
	retrans                      int
	trying                       int
	parkLat, retLat              []time.Duration
	rtpSent                      int64
}

func newGen(cfg config) (*gen, error) {
	local := cfg.local
	if local == "" {
		local = netip.AddrPortFrom(cfg.target.Addr(), 0).String()
	}
	la, err := net.ResolveUDPAddr("udp", local)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, err
	}
	c.SetReadBuffer(8 << 20)
	c.SetWriteBuffer(8 << 20)
	g := &gen{cfg: cfg, sip: c, legs: map[string]*leg{}, pending: map[*leg]struct{}{}}
	g.local = c.LocalAddr().(*net.UDPAddr).AddrPort()
	g.ip = g.local.Addr().String()
	g.st.failCodes = map[int]int{}
	return g, nil
}

func (g *gen) send(b []byte) {
	g.sip.WriteToUDPAddrPort(b, g.cfg.target)
}

// invite builds and sends a leg's INVITE.
func (g *gen) invite(l *leg, ext string, now time.Time) {
	rc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(g.ip)})
	if err != nil {
		g.failPair(l.p, "rtp socket: "+err.Error(), 0)
		return
	}
	l.rtp = rc
	port := rc.LocalAddr().(*net.UDPAddr).Port
	body := sdp(nil, g.ip, port, uint64(l.p.n))
	b := g.out[:0]
	b = fmt.Appendf(b, "INVITE sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\n", ext, g.cfg.target, g.local, l.inviteBr)
	b = fmt.Appendf(b, "From: <sip:lg%d@%s>;tag=%s\r\nTo: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n", l.p.n, g.ip, l.fromTag, ext, g.cfg.target, l.callID)
	b = fmt.Appendf(b, "Contact: <sip:lg@%s>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n", g.local, len(body))
	b = append(b, body...)
	l.req = append([]byte(nil), b...)
	l.sentAt, l.rto, l.next = now, t1, now.Add(t1)
	g.legs[l.callID] = l
	g.pending[l] = struct{}{}
	g.send(l.req)
}

// inDialog builds ACK or BYE inside a leg's dialog.
func (g *gen) inDialog(l *leg, method string, cseq int, branch string) []byte {
	uri := l.contact
	if uri == "" {
		uri = "sip:" + g.cfg.target.String()
	}
	b := fmt.Appendf(nil, "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\n", method, uri, g.local, branch)
	b = fmt.Appendf(b, "From: <sip:lg%d@%s>;tag=%s\r\nTo: <sip:x@%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		l.p.n, g.ip, l.fromTag, g.cfg.target, l.toTag, l.callID, cseq, method)
	return b
}

// ackError ACKs a non-2xx final response inside the INVITE transaction.
func (g *gen) ackError(l *leg, m *msg) {
	ext := g.cfg.park
	if l.retrieve {
		ext = g.cfg.ret
	}
	b := fmt.Appendf(nil, "ACK sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\n", ext, g.cfg.target, g.local, l.inviteBr)
	b = fmt.Appendf(b, "From: <sip:lg%d@%s>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		l.p.n, g.ip, l.fromTag, m.to, l.callID)
	g.send(b)
}

func (g *gen) newPair(now time.Time) {
	g.started++
	n := g.started
	p := &pair{n: n, start: now}
	mk := func(retrieve bool, k string) *leg {
		id := "lg" + k + strconv.Itoa(n) + "-" + strconv.FormatInt(now.UnixNano()%1e9, 36)
		return &leg{p: p, retrieve: retrieve, callID: id, fromTag: "f" + k + strconv.Itoa(n), inviteBr: "z9hG4bK" + id}
	}
	p.park, p.ret = mk(false, "p"), mk(true, "r")
	p.deadline = now.Add(g.cfg.head + g.cfg.hold + g.cfg.timeout)
	g.pairs = append(g.pairs, p)
	g.st.attempted++
	g.open++
	g.invite(p.park, g.cfg.park, now)
}

// failPair ends a pair as failed: legs up are hung up, the rest forgotten.
func (g *gen) failPair(p *pair, why string, code int) {
	if p.done {
		return
	}
	p.done = true
	g.open--
	g.st.failed++
	if code != 0 {
		g.st.failCodes[code]++
	} else if why == "timeout" {
		g.st.timeouts++
	} else {
		g.st.other++
	}
	for _, l := range []*leg{p.park, p.ret} {
		if l.state == up {
			g.bye(l, time.Now())
		} else if l.state == inviting {
			g.endLeg(l)
		}
	}
}

func (g *gen) endLeg(l *leg) {
	if l.state == ended {
		return
	}
	l.state = ended
	delete(g.pending, l)
	if l.rtp != nil {
		l.rtp.Close()
	}
	// The leg stays in g.legs a while for retransmitted responses; it is
	// forgotten when its pair is swept.
}

func (g *gen) bye(l *leg, now time.Time) {
	l.state = byeing
	l.req = g.inDialog(l, "BYE", 2, "z9hG4bK"+l.callID+"-bye")
	l.rto, l.next = t1, now.Add(t1)
	g.pending[l] = struct{}{}
	g.send(l.req)
}

func (g *gen) maybeDone(p *pair) {
	if !p.done && p.parkerBye && p.retByeOK {
		p.done = true
		g.open--
		g.st.completed++
	}
}

// receive handles one datagram from parkd.
func (g *gen) receive(m *msg, now time.Time) {
	l := g.legs[string(m.callID)]
	if m.request {
		var body []byte
		if string(m.method) == "ACK" {
			return
		}
		if l != nil && string(m.method) == "INVITE" && l.rtp != nil {
			body = sdp(nil, g.ip, l.rtp.LocalAddr().(*net.UDPAddr).Port, uint64(l.p.n))
		}
		g.send(reply200(g.out[:0], m, body))
		if l != nil && string(m.method) == "BYE" && !l.retrieve {
			if l.state == up {
				g.endLeg(l)
			}
			l.p.parkerBye = true
			g.maybeDone(l.p)
		}
		return
	}
	if l == nil {
		return
	}
	switch string(m.cseqM) {
	case "INVITE":
		g.inviteResponse(l, m, now)
	case "BYE":
		if l.state == byeing && m.code >= 200 {
			g.endLeg(l)
			if l.retrieve && m.code < 300 {
				l.p.retByeOK = true
				g.maybeDone(l.p)
			}
		}
	}
}

func (g *gen) inviteResponse(l *leg, m *msg, now time.Time) {
	if m.code < 200 {
		if m.code == 100 && !l.provis {
			g.st.trying++
		}
		l.provis = true
		return
	}
	if m.code >= 300 {
		if l.state == inviting {
			g.ackError(l, m)
			if m.code == 503 {
				if l.retrieve {
					g.st.ret503++
				} else {
					g.st.park503++
				}
			}
			g.endLeg(l)
			g.failPair(l.p, "", m.code)
		} else {
			g.ackError(l, m) // a retransmission
		}
		return
	}
	// 2xx: ACK every copy; the first one starts the call.
	if l.state == inviting {
		l.toTag, l.contact = string(m.toTag), string(m.contact)
		if l.p.done { // timed out meanwhile: hang it up
			g.send(g.inDialog(l, "ACK", 1, "z9hG4bK"+l.callID+"-ack"))
			g.bye(l, now)
			return
		}
		l.state = up
		delete(g.pending, l)
		lat := now.Sub(l.sentAt)
		if l.retrieve {
			g.st.retLat = append(g.st.retLat, lat)
			g.byes = append(g.byes, l)
		} else {
			g.st.parkLat = append(g.st.parkLat, lat)
			l.p.parkedAt = now
			g.retrieve = append(g.retrieve, l.p)
		}
		if m.sdpPort > 0 && g.cfg.rtp {
			l.rtpDst = netip.AddrPortFrom(g.cfg.target.Addr(), uint16(m.sdpPort))
			g.rtpLegs = append(g.rtpLegs, l)
		}
	}
	g.send(g.inDialog(l, "ACK", 1, "z9hG4bK"+l.callID+"-ack"))
}

// tick runs timers: new pairs, retrieves and BYEs due, retransmissions
// and timeouts.
func (g *gen) tick(now time.Time, t0 time.Time, starting bool) {
	if starting {
		due := int(g.cfg.rate * now.Sub(t0).Seconds())
		if g.cfg.maxPairs > 0 {
			due = min(due, g.cfg.maxPairs)
		}
		for g.started < due {
			g.newPair(now)
		}
	}
	for len(g.retrieve) > 0 {
		p := g.retrieve[0]
		if p.done {
			g.retrieve = g.retrieve[1:]
			continue
		}
		if now.Before(p.parkedAt.Add(g.cfg.head)) {
			break
		}
		g.retrieve = g.retrieve[1:]
		g.invite(p.ret, g.cfg.ret, now)
	}
	for len(g.byes) > 0 {
		l := g.byes[0]
		if l.state != up {
			g.byes = g.byes[1:]
			continue
		}
		if now.Before(l.sentAt.Add(g.cfg.hold)) {
			break
		}
		g.byes = g.byes[1:]
		g.bye(l, now)
	}
	for l := range g.pending {
		if now.Before(l.next) || (l.state == inviting && l.provis) {
			continue
		}
		g.st.retrans++
		g.send(l.req)
		if l.state == inviting {
			l.rto *= 2 // Timer A doubles without bound (Timer B ends it)
		} else {
			l.rto = min(2*l.rto, t2) // Timer E
		}
		l.next = now.Add(l.rto)
	}
	for len(g.pairs) > 0 {
		p := g.pairs[0]
		if !p.done && now.After(p.deadline) {
			g.failPair(p, "timeout", 0)
		}
		if !p.done || now.Sub(p.start) < g.cfg.head+g.cfg.hold+g.cfg.timeout+32*t1 {
			break
		}
		g.pairs = g.pairs[1:]
		delete(g.legs, p.park.callID)
		delete(g.legs, p.ret.callID)
	}
}
