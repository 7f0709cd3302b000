package media

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Test sessions live in a range below Linux's ephemeral ports, so the
// phones (bound to :0) never compete with them.
const (
	testPortLow  = 20000
	testPortHigh = 32766
)

var loopback = netip.MustParseAddr("127.0.0.1")

func testLogger() *slog.Logger {
	if os.Getenv("MEDIA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newTestAllocator(tb testing.TB) *Allocator {
	tb.Helper()
	a, err := NewAllocator(loopback, testPortLow, testPortHigh)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(a.Close) // after the sessions' own cleanups, registered later
	return a
}

// openSession opens a session that is closed when the test ends.
func openSession(tb testing.TB, a *Allocator) *Session {
	tb.Helper()
	s, err := a.Open(testLogger())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// ssrc is the session's outgoing SSRC (test-only accessor).
func (s *Session) ssrc() uint32 {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return s.out.ssrc
}

// phone is a plain UDP socket playing the part of a SIP phone's RTP port.
type phone struct {
	tb   testing.TB
	conn *net.UDPConn
}

func newPhone(tb testing.TB) *phone {
	tb.Helper()
	p, err := newPhoneOn(tb, loopback)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// newPhoneOn is a phone on ip, or the error binding there (no IPv6 here).
func newPhoneOn(tb testing.TB, ip netip.Addr) (*phone, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() { c.Close() })
	return &phone{tb: tb, conn: c}, nil
}

func (p *phone) addr() netip.AddrPort {
	return p.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (p *phone) sendRaw(to netip.AddrPort, b []byte) {
	p.tb.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.tb.Fatal(err)
	}
}

func (p *phone) send(to netip.AddrPort, h rtp.Header, payload []byte) {
	p.tb.Helper()
	h.Version = 2
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		p.tb.Fatal(err)
	}
	p.sendRaw(to, b)
}

type received struct {
	pkt  rtp.Packet
	from netip.AddrPort
	at   time.Time
}

// recv waits up to timeout for one RTP packet; ok is false on timeout.
func (p *phone) recv(timeout time.Duration) (r received, ok bool) {
	p.tb.Helper()
	buf := make([]byte, 2048)
	_ = p.conn.SetReadDeadline(time.Now().Add(timeout))
	n, from, err := p.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return r, false
		}
		p.tb.Fatal(err)
	}
	r.at, r.from = time.Now(), from
	if err := r.pkt.Unmarshal(buf[:n]); err != nil {
		p.tb.Fatalf("phone got a non-RTP packet: %v", err)
	}
	return r, true
}

// mustRecv is recv that fails the test on timeout.
func (p *phone) mustRecv(timeout time.Duration) received {
	p.tb.Helper()
	r, ok := p.recv(timeout)
	if !ok {
		p.tb.Fatalf("phone %s: no packet within %v", p.addr(), timeout)
	}
	return r
}

// drain discards whatever arrives until the line is quiet for quiet; a
// line that stays busy for 2 s fails the test instead of hanging it.
func (p *phone) drain(quiet time.Duration) {
	p.tb.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := p.recv(quiet); !ok {
			return
		}
	}
	p.tb.Fatalf("phone %s: still receiving after 2s", p.addr())
}

// allListeners lists src's listeners phase by phase (test-only accessor).
func (src *Source) allListeners() []*listener {
	src.mu.Lock()
	defer src.mu.Unlock()
	var all []*listener
	for _, phase := range src.phases {
		all = append(all, phase...)
	}
	return all
}

// waitFor fails the test if ok does not hold within 3 s.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
