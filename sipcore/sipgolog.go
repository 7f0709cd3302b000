package sipcore

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// sipgoLog is the slog.Handler sipgo's transport, transaction, server and
// client log through. sipgo logs a packet it cannot parse at ERROR with the
// whole packet, once per packet, and other trouble a peer causes the same
// way: whoever can send packets could write parkd's log (1.6 MB of garbage
// wrote 6.5 MB). Here every such line is at most WARN, quotes at most
// logClip bytes of the peer's text, escaped, names the source when it can,
// and goes through the endpoint's per-source limiter.
type sipgoLog struct {
	next    slog.Handler
	limit   *logLimiter
	sources *recentSources
	allowed func(netip.Addr) bool
}

// LevelTrace is below slog.LevelDebug: sipgo's DEBUG lines, several per
// transaction, are logged at it so that a debug log shows parkd's own
// lines without them.
const LevelTrace = slog.LevelDebug - 4

// sipgoLevel is the level a sipgo line is logged at: at most WARN, and
// sipgo's DEBUG is TRACE.
func sipgoLevel(level slog.Level) slog.Level {
	if level < slog.LevelInfo {
		return min(level, LevelTrace)
	}
	return min(level, slog.LevelWarn)
}

// SetSipgoDefaultLogger sends the lines sipgo logs outside any endpoint
// (its package-level default logger: connection reference counts, lazy
// header parsing) to l, clipped, limited and demoted like an endpoint's.
func SetSipgoDefaultLogger(l *slog.Logger) {
	sip.SetDefaultLogger(slog.New(&sipgoLog{
		next:    l.Handler(),
		limit:   newLogLimiter(logEvery, logMaxSources),
		sources: &recentSources{},
		allowed: func(netip.Addr) bool { return false },
	}))
}

// Enabled asks for the level a line will have once demoted.
func (h *sipgoLog) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, sipgoLevel(level))
}

func (h *sipgoLog) Handle(ctx context.Context, r slog.Record) error {
	level := sipgoLevel(r.Level)
	if endsTakenOverLoop(r) {
		// parkd ended the loop itself (inline_invite.go): nothing to see.
		if !h.next.Enabled(ctx, LevelTrace) {
			return nil
		}
		level = LevelTrace
	}
	out := slog.NewRecord(r.Time, level, r.Message, r.PC)
	var from netip.AddrPort
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "data" && a.Value.Kind() == slog.KindString {
			from, _ = h.sources.find(a.Value.String())
		}
		out.AddAttrs(safeAttr(a))
		return true
	})
	if level < slog.LevelInfo {
		// DEBUG is asked for while troubleshooting: clipped, not limited.
		return h.next.Handle(ctx, out)
	}
	key := "sipgo: " + r.Message
	if from.IsValid() {
		key = from.Addr().String()
		out.AddAttrs(slog.String("source", from.String()), slog.Bool("allowed", h.allowed(from.Addr())))
	}
	ok, suppressed := h.limit.allow(key)
	if !ok {
		return nil
	}
	if suppressed > 0 {
		out.AddAttrs(slog.Int("suppressed", suppressed))
	}
	return h.next.Handle(ctx, out)
}

// endsTakenOverLoop reports whether r is sipgo's line for a read loop
// the read filter ended because another took over: it carries the
// filter's error.
func endsTakenOverLoop(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Resolve().Any().(error); ok && errors.Is(err, errRetiredReadLoop) {
			found = true
		}
		return !found
	})
	return found
}

func (h *sipgoLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	safe := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		safe[i] = safeAttr(a)
	}
	c := *h
	c.next = h.next.WithAttrs(safe)
	return &c
}

func (h *sipgoLog) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}

// safeAttr clips every text a peer may have written: strings, errors
// (sipgo's quote the bad start line) and anything printed with String.
func safeAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, clip(v.String()))
	case slog.KindGroup:
		group := v.Group()
		safe := make([]any, len(group))
		for i, g := range group {
			safe[i] = safeAttr(g)
		}
		return slog.Group(a.Key, safe...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, clip(x.Error()))
		case interface{ String() string }:
			return slog.String(a.Key, clip(x.String()))
		case []byte:
			return slog.String(a.Key, clip(string(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// recentSources remembers where the last packets came from, by a hash of
// their bytes, so that sipgo's "failed to parse" line, which quotes the
// packet but not its source, can be charged to the source that sent it.
// sipgo parses a packet right after its read filter saw it, in the same
// goroutine, so the packet is among the last few recorded; UDP and TCP
// keep separate rings, so a UDP backlog being read does not push out the
// chunk a TCP connection is parsing.
type recentSources struct {
	udp, tcp sourceRing
}

type sourceRing struct {
	mu   sync.Mutex
	next int
	ring [64]struct {
		sum  uint64
		from netip.AddrPort
	}
}

var packetSeed = maphash.MakeSeed()

// note records that data came from addr; it is sipgo's read filter.
func (s *recentSources) note(addr net.Addr, data []byte) {
	var from netip.AddrPort
	var r *sourceRing
	switch a := addr.(type) {
	case *udpSource: // what parkd's UDP reader hands sipgo (udp_source.go)
		from, r = a.ap, &s.udp
	case *net.UDPAddr:
		from, r = a.AddrPort(), &s.udp
	case *net.TCPAddr:
		from, r = a.AddrPort(), &s.tcp
	default:
		return
	}
	r.note(from, maphash.Bytes(packetSeed, data))
}

func (s *sourceRing) note(from netip.AddrPort, sum uint64) {
	s.mu.Lock()
	s.ring[s.next].sum, s.ring[s.next].from = sum, netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	s.next = (s.next + 1) % len(s.ring)
	s.mu.Unlock()
}

// find returns the source of the most recent packet whose bytes were data.
func (s *recentSources) find(data string) (netip.AddrPort, bool) {
	sum := maphash.String(packetSeed, data)
	if from, ok := s.udp.find(sum); ok {
		return from, true
	}
	return s.tcp.find(sum)
}

func (s *sourceRing) find(sum uint64) (netip.AddrPort, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 1; i <= len(s.ring); i++ {
		e := s.ring[(s.next-i+len(s.ring))%len(s.ring)]
		if e.sum == sum && e.from.IsValid() {
			return e.from, true
		}
	}
	return netip.AddrPort{}, false
}
