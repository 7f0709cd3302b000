package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// traffic counts what went out and what came back.
type traffic struct {
	mu        sync.Mutex
	sent      map[string]int // by transport
	bytesSent int64
	failed    map[string]int // sends that did not reach the daemon, by why
	received  map[string]int // what the daemon sent back, by classify
	statuses  map[string]int // its SIP/2.0 responses by status line ("400 Bad Request")
	toPhones  map[string]int // what it sent to the decoy phones, by classify
	// phoneTx is the distinct transactions (top Via branch) of those
	// requests, by method: toPhones counts retransmissions too.
	phoneTx   map[string]map[string]struct{}
	junk      []string     // the first few things it sent back that were not SIP
	tcpClosed atomic.Int64 // connections the daemon closed (EOF or reset) before we did
}

func newTraffic() *traffic {
	return &traffic{sent: map[string]int{}, failed: map[string]int{}, received: map[string]int{}, statuses: map[string]int{}, toPhones: map[string]int{}, phoneTx: map[string]map[string]struct{}{}}
}

func (t *traffic) count(m map[string]int, key string, n int) {
	t.mu.Lock()
	m[key] += n
	t.mu.Unlock()
}

// noteReceived counts one message from the daemon on a fuzz socket.
func (t *traffic) noteReceived(msg []byte) {
	kind := classify(msg)
	t.mu.Lock()
	t.received[kind]++
	if status := statusLine(msg); status != "" && (len(t.statuses) < maxStatuses || t.statuses[status] > 0) {
		t.statuses[status]++
	}
	if kind == "junk" && len(t.junk) < 5 {
		t.junk = append(t.junk, strconv.Quote(string(msg[:min(len(msg), 120)])))
	}
	t.mu.Unlock()
}

// maxStatuses bounds the distinct status lines kept.
const maxStatuses = 100

// statusLine is "486 Busy Here" for a SIP/2.0 response (the reason cut to
// 40 bytes and quoted if odd), "" for anything else.
func statusLine(msg []byte) string {
	line, _, _ := bytes.Cut(msg, []byte("\r\n"))
	rest, ok := bytes.CutPrefix(line, []byte("SIP/2.0 "))
	if !ok || len(rest) < 3 {
		return ""
	}
	rest = rest[:min(len(rest), 44)]
	s := string(rest)
	if q := strconv.Quote(s); q[1:len(q)-1] != s {
		return q
	}
	return s
}

// maxPhoneTx bounds the branches remembered per method.
const maxPhoneTx = 100000

// notePhone counts one message the daemon sent to a decoy phone.
func (t *traffic) notePhone(msg []byte) {
	kind := classify(msg)
	branch := topBranch(msg)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.toPhones[kind]++
	if kind == "junk" || strings.Contains(kind, "xx") || branch == "" {
		return
	}
	set := t.phoneTx[kind]
	if set == nil {
		set = map[string]struct{}{}
		t.phoneTx[kind] = set
	}
	if len(set) < maxPhoneTx {
		set[branch] = struct{}{}
	}
}

// topBranch is the branch parameter of a message's first Via.
func topBranch(msg []byte) string {
	lines, _ := splitMessage(msg)
	i := headerIndex(lines, "Via", "v")
	if i < 0 {
		return ""
	}
	_, rest, ok := bytes.Cut(lines[i], []byte("branch="))
	if !ok {
		return ""
	}
	end := bytes.IndexAny(rest, ";, ")
	if end < 0 {
		end = len(rest)
	}
	return string(rest[:end])
}

func (t *traffic) noteSent(transport string, n int) {
	t.mu.Lock()
	t.sent[transport]++
	t.bytesSent += int64(n)
	t.mu.Unlock()
}

// source is one of the fuzzer's addresses: a UDP socket, and a TCP
// connection reused message after message until the daemon drops it.
type source struct {
	ip   netip.Addr
	udp  *net.UDPConn
	mu   sync.Mutex
	conn net.Conn // the reused TCP connection; nil until needed or after it broke
}

// sender sends fuzz messages to the daemon from several sources and
// drains whatever comes back.
type sender struct {
	daemon  netip.AddrPort
	sources []*source
	stats   *traffic
	log     *slog.Logger
	fresh   chan struct{} // bounds fresh TCP connections in flight
	wg      sync.WaitGroup
	closing atomic.Bool
	once    sync.Once
}

// maxFreshConns bounds the fuzzer's own sockets for fresh-connection sends.
const maxFreshConns = 200

// newSender binds a UDP socket on each source IP. An IP the kernel will
// not bind (not 127/8 on Linux loopback, say) is replaced by 127.0.0.1;
// the replacement is logged and visible in the report's sources.
func newSender(daemon netip.AddrPort, ips []netip.Addr, stats *traffic, log *slog.Logger) (*sender, error) {
	s := &sender{daemon: daemon, stats: stats, log: log, fresh: make(chan struct{}, maxFreshConns)}
	for _, ip := range ips {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			log.Warn("cannot bind source address; using 127.0.0.1 instead", "ip", ip, "error", err)
			ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
			if c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0))); err != nil {
				s.close()
				return nil, err
			}
		}
		src := &source{ip: ip, udp: c}
		s.sources = append(s.sources, src)
		s.wg.Add(1)
		go s.drainUDP(src)
	}
	if len(s.sources) == 0 {
		return nil, errors.New("no source address")
	}
	return s, nil
}

// sourceIPs are the addresses actually bound, in order.
func (s *sender) sourceIPs() []string {
	out := make([]string, len(s.sources))
	for i, src := range s.sources {
		out[i] = src.ip.String()
	}
	return out
}

func (s *sender) drainUDP(src *source) {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, err := src.udp.Read(buf)
		if err != nil {
			if s.closing.Load() {
				return
			}
			// ICMP port unreachable shows up as a read error on Linux
			// (connection refused); it is no reason to stop reading.
			s.stats.count(s.stats.failed, "udp icmp/read error", 1)
			continue
		}
		s.stats.noteReceived(buf[:n])
	}
}

// send delivers one message over its transport; it does not wait for an
// answer.
func (s *sender) send(ctx context.Context, m Message) {
	src := s.sources[m.Source%len(s.sources)]
	switch m.Transport {
	case viaUDP:
		if _, err := src.udp.WriteToUDPAddrPort(m.Bytes, s.daemon); err != nil {
			s.stats.count(s.stats.failed, "udp write: "+errKind(err), 1)
			return
		}
		s.stats.noteSent(m.Transport, len(m.Bytes))
	case viaTCPNew:
		select {
		case s.fresh <- struct{}{}:
		case <-ctx.Done():
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.fresh }()
			s.sendFresh(src, m)
		}()
	case viaTCPReuse:
		s.sendReused(src, m)
	}
}

func (s *sender) dial(src *source) (net.Conn, error) {
	d := net.Dialer{Timeout: time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src.ip, 0))}
	return d.Dial("tcp", s.daemon.String())
}

// sendFresh opens a connection for one message, reads what the daemon
// answers for a second, and closes it.
func (s *sender) sendFresh(src *source, m Message) {
	c, err := s.dial(src)
	if err != nil {
		s.stats.count(s.stats.failed, "tcp connect: "+errKind(err), 1)
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write(m.Bytes); err != nil {
		s.stats.count(s.stats.failed, "tcp write: "+errKind(err), 1)
		return
	}
	s.stats.noteSent(m.Transport, len(m.Bytes))
	s.readStream(c)
}

// sendReused writes on the source's long-lived connection, dialling it
// first if needed. A connection the daemon closed is replaced.
func (s *sender) sendReused(src *source, m Message) {
	src.mu.Lock()
	defer src.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		if src.conn == nil {
			c, err := s.dial(src)
			if err != nil {
				s.stats.count(s.stats.failed, "tcp connect: "+errKind(err), 1)
				return
			}
			src.conn = c
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.readStream(c)
				// The reader ends when the connection does: forget it so the
				// next message dials again.
				src.mu.Lock()
				if src.conn == c {
					src.conn = nil
				}
				src.mu.Unlock()
			}()
		}
		_ = src.conn.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := src.conn.Write(m.Bytes); err != nil {
			src.conn.Close()
			src.conn = nil
			if attempt == 1 {
				s.stats.count(s.stats.failed, "tcp write: "+errKind(err), 1)
			}
			continue
		}
		s.stats.noteSent(m.Transport, len(m.Bytes))
		return
	}
}

// readStream counts the messages the daemon writes on c until it closes,
// errs or the deadline passes.
func (s *sender) readStream(c net.Conn) {
	var f framer
	buf := make([]byte, 16<<10)
	for {
		n, err := c.Read(buf)
		for _, msg := range f.feed(buf[:n]) {
			s.stats.noteReceived(msg)
		}
		if err != nil {
			var ne net.Error
			if !s.closing.Load() && !(errors.As(err, &ne) && ne.Timeout()) {
				s.stats.tcpClosed.Add(1)
			}
			return
		}
	}
}

// close stops every socket and waits for the readers.
func (s *sender) close() {
	s.once.Do(func() {
		s.closing.Store(true)
		for _, src := range s.sources {
			src.udp.Close()
			src.mu.Lock()
			if src.conn != nil {
				src.conn.Close()
			}
			src.mu.Unlock()
		}
		s.wg.Wait()
	})
}

// errKind is a short, stable name for an error, for counting.
func errKind(err error) string {
	switch {
	case errors.Is(err, io.EOF):
		return "EOF"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		var se interface{ Unwrap() error }
		if errors.As(oe.Err, &se) {
			if inner := se.Unwrap(); inner != nil {
				return inner.Error()
			}
		}
		return oe.Err.Error()
	}
	return err.Error()
}
