package sipcore

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/parkd/parkd/internal/kstamp"
	"github.com/parkd/parkd/internal/mmsg"
)

// stampedConn is the SIP UDP socket as sipgo reads it: every datagram is
// read with the time the kernel received it, kept until the next read.
// sipgo's read loop calls the read filter right after each read, in the
// same goroutine, so the filter sees the arrival of the datagram it is
// given. Under overload that arrival is what counts: the wait is mostly
// in the socket's receive queue, before parkd reads anything.
type stampedConn struct {
	*net.UDPConn
	local  netip.AddrPort
	reader *mmsg.Reader
	last   atomic.Int64 // UnixNano of the last datagram's arrival
	// sources gives sipgo the same net.Addr, formatted once, for a source
	// it read from recently (udp_source.go).
	sources *sourceCache
	// answered takes a datagram that answers one of parkd's own NOTIFYs
	// or BYEs (notify_raw.go) and reports whether it did; nil in tests
	// of the socket alone.
	answered func([]byte) bool

	// sipgo's read loop is restarted now and then to let go of the
	// sources it remembers (udp_restart.go). pool and addr are set before
	// it serves. The reader belongs to the loop reading; the fields under
	// carryMu to it too, but for a loop taken over (inline_invite.go),
	// which carries its sources over as it ends, while the next reads.
	pool       *sip.ConnectionPool
	addr       string // the listener's address as sipgo names it
	carryMu    sync.Mutex
	newSources int
	restartDue atomic.Bool              // read without carryMu by the loop reading, on every read
	recent     [restartCarry]*udpSource // the last datagrams' sources
	recentNext int
	standIn    *sip.UDPConnection // carries entries over the last loop's end
	carried    []string           // the sources it carried

	// How loops ended, for the goroutines that ran them (loopEnded), and
	// how many goroutines run one; for a moment after a takeover, two.
	restartExits, retiredExits atomic.Int32
	restarts                   atomic.Uint64
	loops                      atomic.Int32

	// inline runs new calls' handlers on the loop (inline_invite.go).
	inline inlineRuns
}

// readBatch is how many queued datagrams one read of the SIP socket
// takes: the 200s of a BLF fan-out come in hundreds.
const readBatch = 16

// readLateWake bounds how long a request waits unread in the SIP socket
// while parkd's core is busy (mmsg's late_wake.go): without it, at 1,000
// pairs a second, an INVITE's p99 from arrival to being read was
// 14–18 ms. A millisecond is a tenth of the p99 parkd aims at from
// INVITE to 200. The socket's read deadline is the reader's: nothing else
// may set it (stampedConn embeds the *net.UDPConn, and with it
// SetReadDeadline; neither parkd nor sipgo's UDP transport calls it).
const readLateWake = time.Millisecond

// newStampedConn asks the kernel to stamp c's datagrams; where it cannot,
// each is stamped when it is read.
func newStampedConn(c *net.UDPConn) (*stampedConn, error) {
	kstamp.Enable(c)
	r, err := mmsg.NewReader(c, readBatch, int(sip.TransportBufferReadSize))
	if err != nil {
		return nil, err
	}
	r.SetLateWake(readLateWake)
	return &stampedConn{UDPConn: c, local: c.LocalAddr().(*net.UDPAddr).AddrPort(), reader: r, sources: newSourceCache()}, nil
}

// ReadFrom is net.PacketConn's, for sipgo's read loop. The answers to
// parkd's own NOTIFYs and BYEs are taken here and never returned: a BLF
// fan-out brings a thousand of them, and each would otherwise cost a
// source lookup, the read filter and a turn of sipgo's loop, in the
// goroutine that a fan-out's last NOTIFYs may be waiting on.
func (s *stampedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		if s.endLoopForRestart() {
			return 0, nil, errRestartReadLoop
		}
		n, from, at, err := s.reader.Read(b)
		if err != nil {
			return 0, nil, err
		}
		if s.answered != nil && s.answered(b[:n]) {
			continue
		}
		return s.handOver(n, from, at)
	}
}

// handOver gives sipgo a datagram read at at from from.
func (s *stampedConn) handOver(n int, from netip.AddrPort, at time.Time) (int, net.Addr, error) {
	s.last.Store(at.UnixNano())
	src, miss := s.sources.get(from)
	s.carryMu.Lock()
	s.countSource(miss)
	s.noteRecent(src)
	s.carryMu.Unlock()
	return n, src, nil
}

// arrival is when the datagram the read filter is looking at reached the
// UDP listener local; now when parkd has no such listener.
func (ep *Endpoint) arrival(local net.Addr, now time.Time) time.Time {
	if s := ep.stampedAt(local); s != nil {
		if ns := s.last.Load(); ns != 0 {
			return time.Unix(0, ns)
		}
	}
	return now
}

// stampedAt is the stamped UDP listener at local, or nil.
func (ep *Endpoint) stampedAt(local net.Addr) *stampedConn {
	a, ok := local.(*net.UDPAddr)
	if !ok {
		return nil
	}
	ap := a.AddrPort()
	for _, s := range ep.stamped {
		if s.local == ap {
			return s
		}
	}
	return nil
}
