package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

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
