package sipcore

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// tcpConn is an admitted SIP TCP connection as sipgo reads it. Its Read
// closes the connection when the peer stays silent for the idle timeout
// while no dialog or subscription uses it, when a message takes longer
// than the message timeout from its first byte to its last (slowloris), or
// when a message breaks the framer's size bound, and then returns io.EOF,
// which sipgo takes as an ordinary close. Its Write closes it when the peer
// does not take a write within the message timeout. The timeouts are
// deadlines on the socket: no goroutine or timer of its own per connection.
type tcpConn struct {
	net.Conn
	gate      *tcpGate
	ip        netip.Addr
	raddr     string // as sipgo names the connection and dialogs record their source
	closeOnce sync.Once
	dropped   atomic.Bool // parkd closed it for a reason, counted once

	// writing serialises Write: the socket has one write deadline, and a
	// second writer setting its own would push back the one blocked
	// already, so a peer that sent a request more often than the timeout
	// and read nothing held every write (and handler) for ever.
	writing sync.Mutex

	// Only the reading goroutine touches these: sipgo reads a connection
	// from one goroutine.
	framer   sipFramer
	lastByte time.Time
	msgStart time.Time
	armed    time.Time // the read deadline set on the socket; zero: none
	stale    bool      // the armed deadline has passed and must be replaced

	asked atomic.Int64 // a read deadline set through SetReadDeadline, UnixNano; 0: none
}

func newTCPConn(c net.Conn, g *tcpGate, ip netip.Addr) *tcpConn {
	return &tcpConn{Conn: c, gate: g, ip: ip, raddr: c.RemoteAddr().String(), lastByte: time.Now()}
}

// due is when the current wait must end: the message's deadline while a
// message is arriving, else the idle deadline; zero for never.
func (c *tcpConn) due() time.Time {
	if c.framer.inMessage() {
		return c.msgStart.Add(c.gate.limits.MessageTimeout)
	}
	if c.gate.limits.IdleTimeout < 0 {
		return time.Time{}
	}
	return c.lastByte.Add(c.gate.limits.IdleTimeout)
}

func (c *tcpConn) Read(p []byte) (int, error) {
	for {
		asked := c.askedDeadline()
		wake := earliest(c.due(), asked)
		// Move the socket's deadline only to wake earlier (or after it
		// fired): a deadline that fires early is checked and pushed back
		// below, so a busy connection does not re-arm it on every read.
		if c.stale || (!wake.IsZero() && (c.armed.IsZero() || wake.Before(c.armed))) {
			if err := c.Conn.SetReadDeadline(wake); err != nil {
				return 0, err
			}
			c.armed, c.stale = wake, false
		}
		n, err := c.Conn.Read(p)
		if n > 0 {
			now := time.Now()
			c.lastByte = now
			started, ferr := c.framer.feed(p[:n])
			if ferr != nil {
				c.drop(reasonOversized, slog.LevelWarn, "error", ferr)
				return 0, io.EOF
			}
			if started {
				c.msgStart = now
			}
			return n, err
		}
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
		c.stale = true
		now := time.Now()
		if !asked.IsZero() && !now.Before(asked) {
			return 0, err // the caller's own deadline
		}
		due := c.due()
		if due.IsZero() || now.Before(due) {
			continue // woken early
		}
		if c.framer.inMessage() {
			c.drop(reasonSlowMessage, slog.LevelWarn, "timeout", c.gate.limits.MessageTimeout)
			return 0, io.EOF
		}
		if c.gate.inUse(c.raddr) {
			c.lastByte = now // a dialog's connection: look again in a while
			continue
		}
		c.drop(reasonIdle, slog.LevelDebug, "timeout", c.gate.limits.IdleTimeout)
		return 0, io.EOF
	}
}

// Write gives every write the message timeout: a peer that stops reading
// would otherwise hold the writing goroutine (a response, a NOTIFY) for
// good, and one more for every message parkd then tries to send it. The
// connection is closed when a write times out.
func (c *tcpConn) Write(p []byte) (int, error) {
	c.writing.Lock()
	defer c.writing.Unlock()
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.gate.limits.MessageTimeout)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		c.drop(reasonSlowReader, slog.LevelWarn, "timeout", c.gate.limits.MessageTimeout)
	}
	return n, err
}

// drop closes the connection for a reason, counted and logged.
func (c *tcpConn) drop(why tcpReason, level slog.Level, args ...any) {
	if !c.dropped.CompareAndSwap(false, true) {
		return
	}
	// Counted first, so whoever sees the close sees it counted.
	c.gate.note(why, level, "sip tcp connection closed", append([]any{"source", c.raddr}, args...)...)
	c.Close()
}

// Close closes the socket once; later calls do nothing and return nil, so
// sipgo closing a connection parkd dropped is not an error.
func (c *tcpConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		err = c.Conn.Close()
		c.gate.release(c.ip)
	})
	return err
}

// SetReadDeadline keeps a caller's deadline beside the connection's own.
// It takes effect at the next Read, which is how sipgo uses it (set, then
// read, in the reading goroutine).
func (c *tcpConn) SetReadDeadline(t time.Time) error {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	c.asked.Store(ns)
	return nil
}

// SetDeadline and SetWriteDeadline leave writes to Write's own deadline.
func (c *tcpConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

func (c *tcpConn) SetWriteDeadline(time.Time) error { return nil }

func (c *tcpConn) askedDeadline() time.Time {
	if ns := c.asked.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// earliest is the earlier of two deadlines, zero meaning none.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}
