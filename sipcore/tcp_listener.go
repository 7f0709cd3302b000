package sipcore

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of TCPLimits (sip.tcp).
const (
	DefaultTCPMaxConnections = 10000
	DefaultTCPMaxPerSource   = 200
	DefaultTCPIdleTimeout    = 5 * time.Minute
	DefaultTCPMessageTimeout = 10 * time.Second
)

// NoIdleTimeout as TCPLimits.IdleTimeout keeps silent connections open.
const NoIdleTimeout time.Duration = -1

func (l *TCPLimits) setDefaults() {
	if l.MaxConnections <= 0 {
		l.MaxConnections = DefaultTCPMaxConnections
	}
	if l.MaxPerSource <= 0 {
		l.MaxPerSource = DefaultTCPMaxPerSource
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = DefaultTCPIdleTimeout
	}
	if l.MessageTimeout <= 0 {
		l.MessageTimeout = DefaultTCPMessageTimeout
	}
}

// Pauses after a failed accept: EMFILE and its kind clear up only when
// something else closes a descriptor, so retrying at once would spin.
const (
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = time.Second
)

// How often a kind of TCP trouble may be logged; the lines in between are
// counted and the count goes out with the next line.
const (
	acceptErrorLogEvery = time.Second
	tcpRefusalLogEvery  = 10 * time.Second
)

// tcpGate decides which SIP TCP connections parkd keeps: one per Endpoint,
// shared by its TCP listeners, so the limits hold across them all.
type tcpGate struct {
	limits  TCPLimits
	allowed func(netip.Addr) bool // sip.allow, as it is now
	log     *slog.Logger
	// inUse reports whether a dialog or subscription sends over the
	// connection from this remote address; such a one is never idle.
	inUse func(raddr string) bool

	mu    sync.Mutex
	open  int
	perIP map[netip.Addr]int

	acceptErrors atomic.Uint64
	counts       [numTCPReasons]atomic.Uint64
	logs         [numTCPReasons]intervalLog
	acceptLog    intervalLog
}

func newTCPGate(limits TCPLimits, allowed func(netip.Addr) bool, log *slog.Logger, inUse func(string) bool) *tcpGate {
	limits.setDefaults()
	g := &tcpGate{limits: limits, allowed: allowed, log: log, inUse: inUse, perIP: map[netip.Addr]int{}}
	g.acceptLog.every = acceptErrorLogEvery
	for i := range g.logs {
		g.logs[i].every = tcpRefusalLogEvery
	}
	return g
}

// admit takes an accepted connection in, or closes it and returns nil.
func (g *tcpGate) admit(c net.Conn) net.Conn {
	ip := remoteIP(c)
	if !g.allowed(ip) {
		g.refuse(c, reasonNotAllowed, ip)
		return nil
	}
	g.mu.Lock()
	reason := numTCPReasons
	switch {
	case g.open >= g.limits.MaxConnections:
		reason = reasonMaxConnections
	case g.perIP[ip] >= g.limits.MaxPerSource:
		reason = reasonMaxPerSource
	default:
		g.open++
		g.perIP[ip]++
	}
	g.mu.Unlock()
	if reason != numTCPReasons {
		g.refuse(c, reason, ip)
		return nil
	}
	return newTCPConn(c, g, ip)
}

// release gives back what admit took for a connection now closed.
func (g *tcpGate) release(ip netip.Addr) {
	g.mu.Lock()
	g.open--
	if g.perIP[ip]--; g.perIP[ip] <= 0 {
		delete(g.perIP, ip)
	}
	g.mu.Unlock()
}

// refuse closes a connection nobody has read from, with a reset so that
// a flood of them leaves no TIME_WAIT behind.
func (g *tcpGate) refuse(c net.Conn, why tcpReason, ip netip.Addr) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	g.note(why, slog.LevelWarn, "sip tcp connection refused", "source", ip)
	c.Close()
}

// note counts one refusal or close and logs it, at most once per interval
// for each reason.
func (g *tcpGate) note(why tcpReason, level slog.Level, msg string, args ...any) {
	g.counts[why].Add(1)
	if ok, suppressed := g.logs[why].allow(time.Now()); ok {
		args = append(args, "reason", why.String(), "suppressed", suppressed)
		g.log.Log(context.Background(), level, msg, args...)
	}
}

func remoteIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	return ap.Addr().Unmap()
}

// tcpListener is what sipgo's ServeTCP accepts from. sipgo stops serving a
// listener for good on the first Accept error, so Accept here fails only
// once the listener is closed: anything else (EMFILE, ENFILE, ENOBUFS …)
// is logged and retried after a pause that doubles up to a second. It
// hands sipgo only connections the gate admitted, wrapped to time them
// out (tcpConn); sipgo needs nothing of a net.Conn but its interface.
type tcpListener struct {
	net.Listener
	gate      *tcpGate
	closed    chan struct{}
	closeOnce sync.Once
}

func newTCPListener(ln net.Listener, gate *tcpGate) *tcpListener {
	return &tcpListener{Listener: ln, gate: gate, closed: make(chan struct{})}
}

func (l *tcpListener) Accept() (net.Conn, error) {
	var pause time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if l.isClosed() || errors.Is(err, net.ErrClosed) {
				return nil, net.ErrClosed
			}
			pause = min(max(2*pause, acceptRetryMin), acceptRetryMax)
			l.acceptFailed(err, pause)
			select {
			case <-time.After(pause):
			case <-l.closed:
				return nil, net.ErrClosed
			}
			continue
		}
		pause = 0
		if c := l.gate.admit(c); c != nil {
			return c, nil
		}
	}
}

func (l *tcpListener) acceptFailed(err error, pause time.Duration) {
	g := l.gate
	g.acceptErrors.Add(1)
	if ok, suppressed := g.acceptLog.allow(time.Now()); ok {
		g.log.Error("sip tcp accept failed; retrying", "listen", l.Addr().String(),
			"error", err, "retry_in", pause, "suppressed", suppressed)
	}
}

func (l *tcpListener) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

func (l *tcpListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// intervalLog lets one log line through per interval and counts the rest:
// for lines about the listener as a whole (accept errors, refusals by
// reason), where a per-source limiter (logLimiter) would not fit.
type intervalLog struct {
	every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether a line may be logged now and how many were held
// back since the last one.
func (l *intervalLog) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		return false, 0
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return true, n
}
