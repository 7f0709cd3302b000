package main

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parkd/parkd/bench/internal/sipmsg"
	"github.com/parkd/parkd/internal/kstamp"
	"github.com/parkd/parkd/internal/rawsip"
)

// generator places park-then-retrieve pairs and answers parkd's requests.
type generator struct {
	target   netip.AddrPort
	park     string // the park extension
	retrieve string // the retrieve extension (the longest waiting call)
	head     time.Duration
	hold     time.Duration
	timeout  time.Duration
	// timeEvery: both calls of every timeEvery'th pair time the audio
	// relayed to them (0: none).
	timeEvery uint64
	sockets   []*sipSocket
	calls     sync.Map // Call-ID → *leg
	rtp       rtpPool
	stats     stats
	pending   sync.WaitGroup
	started   atomic.Int64
	sequence  atomic.Uint64
}

// pair is one parked call and one retrieve.
type pair struct {
	g      *generator
	mu     sync.Mutex
	left   int
	failed string
}

func (g *generator) listen(n int) error {
	for range n {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return err
		}
		conn.SetReadBuffer(8 << 20)
		conn.SetWriteBuffer(8 << 20)
		// An answer's latency ends when the kernel queued it for this
		// socket, not when this process, busy with RTP on its one core,
		// got round to reading it.
		if err := kstamp.Enable(conn); err != nil {
			return err
		}
		s := &sipSocket{conn: conn, addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(), to: g.target}
		g.sockets = append(g.sockets, s)
		go g.read(s)
	}
	return nil
}

func (g *generator) read(s *sipSocket) {
	buf := make([]byte, 65536)
	oob := make([]byte, kstamp.OOBSize)
	for {
		n, _, arrived, err := kstamp.Read(s.conn, buf, oob)
		if err != nil {
			return
		}
		raw := buf[:n]
		m, err := sipmsg.Parse(raw)
		if err != nil {
			g.stats.unparsed.Add(1)
			continue
		}
		v, known := g.calls.Load(m.CallID)
		switch {
		case m.Request && m.Method == "BYE" && known:
			v.(*leg).onBye(raw)
		case m.Request && m.Method == "ACK":
		case m.Request:
			s.send(rawsip.AppendOK(nil, raw)) // a late BYE, OPTIONS, NOTIFY: answered, nothing else
		case known:
			v.(*leg).onResponse(m, raw, arrived)
		}
	}
}

// startPair parks a call now and retrieves one head later.
func (g *generator) startPair() {
	i := g.sequence.Add(1)
	p := &pair{g: g, left: 2}
	g.pending.Add(1)
	g.started.Add(1)
	timed := g.timeEvery > 0 && i%g.timeEvery == 0
	mk := func(role, target string) *leg {
		l := &leg{g: g, pair: p, role: role, target: target, sock: g.sockets[int(i)%len(g.sockets)],
			callID: randomToken() + "@loadgen", tag: randomToken(), timed: timed}
		g.calls.Store(l.callID, l)
		return l
	}
	parked, retriever := mk("park", g.park), mk("retrieve", g.retrieve)
	parked.start()
	time.AfterFunc(g.head, retriever.start)
}

func (p *pair) answered(l *leg) {
	if l.role == "retrieve" {
		time.AfterFunc(p.g.hold, l.hangUp)
	}
}

func (p *pair) legDone(l *leg) {
	p.mu.Lock()
	p.left--
	if l.failure != "" && p.failed == "" {
		p.failed = l.role + ": " + l.failure
	}
	last, failed := p.left == 0, p.failed
	p.mu.Unlock()
	if last {
		p.g.stats.pairDone(failed)
		p.g.pending.Done()
	}
}

// abandon ends what is still up when the drain time is over: the parked
// calls nobody retrieved get a BYE, so parkd is left clean.
func (g *generator) abandon() {
	g.calls.Range(func(_, v any) bool {
		l := v.(*leg)
		l.hangUp()
		l.finish("still in progress at the end of the run")
		return true
	})
}

func randomToken() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// stats are the run's counters and latency samples.
type stats struct {
	mu             sync.Mutex
	park, retrieve []time.Duration // INVITE sent to the 200's arrival
	// parkRead, retrieveRead: INVITE sent to the 200 read and parsed, which
	// adds this process's own delays.
	parkRead, retrieveRead []time.Duration
	relayed                []time.Duration // a stamped packet's send to its arrival at the peer, through parkd
	samples                []sample        // every answer, for -samples
	failures               map[string]int
	ok, failed             int
	retransmissions        atomic.Uint64
	unavailable            atomic.Uint64 // 503s
	unparsed               atomic.Uint64
}

// sample is one INVITE's answer: when it was sent and how long the 200
// took, so that slow answers can be placed in time (do they cluster?).
type sample struct {
	sent          time.Time
	role          string
	latency, read time.Duration
}

// latency records an answer: sent to arrived is the daemon's latency (the
// kernel stamps the arrival), sent to read is the generator's view.
func (s *stats) latency(role string, sent, arrived, read time.Time) {
	// sent and read carry the monotonic clock; a kernel stamp is wall
	// time only, so it enters as the short gap before the read, where a
	// clock step can do the least harm.
	r := read.Sub(sent)
	d := min(max(r-read.Sub(arrived), 0), r)
	s.mu.Lock()
	s.samples = append(s.samples, sample{sent, role, d, r})
	if role == "park" {
		s.park, s.parkRead = append(s.park, d), append(s.parkRead, r)
	} else {
		s.retrieve, s.retrieveRead = append(s.retrieve, d), append(s.retrieveRead, r)
	}
	s.mu.Unlock()
}

func (s *stats) relay(d time.Duration) {
	s.mu.Lock()
	s.relayed = append(s.relayed, d)
	s.mu.Unlock()
}

func (s *stats) pairDone(failure string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if failure == "" {
		s.ok++
		return
	}
	s.failed++
	if s.failures == nil {
		s.failures = map[string]int{}
	}
	s.failures[failure]++
}

// percentiles are latencies in milliseconds.
type percentiles struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func summarize(ds []time.Duration) percentiles {
	if len(ds) == 0 {
		return percentiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 {
		return float64(s[min(len(s)-1, int(q*float64(len(s))))].Microseconds()) / 1000
	}
	return percentiles{Count: len(s), P50: at(0.5), P90: at(0.9), P99: at(0.99), Max: float64(s[len(s)-1].Microseconds()) / 1000}
}
