package sipcore

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// A cached source formats as *net.UDPAddr does, for sipgo's connection
// pool keys and message sources, and as the gate reads it.
func TestUDPSourceFormatsAsUDPAddr(t *testing.T) {
	for _, s := range []string{"127.0.0.1:5060", "[::1]:5062", "[::ffff:10.0.0.7]:40000", "[fe80::1]:1"} {
		ap := netip.MustParseAddrPort(s)
		c := newSourceCache()
		got, miss := c.get(ap)
		if !miss {
			t.Errorf("%s: a first read was not a miss", s)
		}
		if want := net.UDPAddrFromAddrPort(ap).String(); got.String() != want {
			t.Errorf("%s: String %q, want %q", s, got.String(), want)
		}
		if got.Network() != "udp" {
			t.Errorf("%s: Network %q", s, got.Network())
		}
		if addrPort(got) != ap || addrIP(got) != ap.Addr().Unmap() {
			t.Errorf("%s: the gate reads %v, %v", s, addrPort(got), addrIP(got))
		}
		if again, miss := c.get(ap); again != got || miss {
			t.Errorf("%s: a second read made a new source", s)
		}
	}
}

// Sources that share an entry replace each other: the cache never holds
// more than its size, and never hands out another source's address.
func TestSourceCacheMissReplaces(t *testing.T) {
	c := newSourceCache()
	seen := map[*udpSource]netip.AddrPort{}
	for port := range uint16(3 * sourceCacheSize) {
		ap := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), port+1)
		a, _ := c.get(ap)
		if a.AddrPort() != ap {
			t.Fatalf("got %v for %v", a.AddrPort(), ap)
		}
		seen[a] = ap
	}
	if len(seen) != 3*sourceCacheSize {
		t.Errorf("%d sources for %d addresses", len(seen), 3*sourceCacheSize)
	}
	held := 0
	for _, a := range c.entries {
		if a != nil {
			held++
		}
	}
	if held > sourceCacheSize {
		t.Errorf("%d entries held", held)
	}
}

// Reading a datagram from a source read before allocates nothing: sipgo
// formats the source of every datagram, a thousand 200s per BLF change.
func TestStampedReadFromKnownSourceDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	sc, client := stampedPair(t)
	msg, buf := []byte("SIP/2.0 200 OK\r\n\r\n"), make([]byte, 1500)
	var from net.Addr
	read := func() {
		if _, err := client.Write(msg); err != nil {
			t.Fatal(err)
		}
		_, a, err := sc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		from = a
	}
	read() // the first read from this source makes its entry
	if n := testing.AllocsPerRun(50, func() { read(); _ = from.String() }); n != 0 {
		t.Errorf("%v allocations per datagram, want 0", n)
	}
	if from.String() != client.LocalAddr().String() {
		t.Errorf("source %q, want %q", from, client.LocalAddr())
	}
}

// The answers to parkd's own NOTIFYs are taken as the socket is read:
// sipgo's loop gets the datagram after them, and what the hook declines.
func TestStampedReadFromTakesAnswers(t *testing.T) {
	sc, client := stampedPair(t)
	var taken []string
	sc.answered = func(b []byte) bool {
		if strings.Contains(string(b), "branch=ours") {
			taken = append(taken, string(b))
			return true
		}
		return false
	}
	sent := []string{
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=ours\r\n\r\n",
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=ours\r\n\r\n",
		"OPTIONS sip:a SIP/2.0\r\n\r\n",
		"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP a;branch=theirs\r\n\r\n",
	}
	for _, m := range sent {
		if _, err := client.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1500)
	for _, want := range sent[2:] {
		sc.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, from, err := sc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:n]); got != want {
			t.Errorf("sipgo read %q, want %q", got, want)
		}
		if from.String() != client.LocalAddr().String() {
			t.Errorf("source %q, want %q", from, client.LocalAddr())
		}
	}
	if len(taken) != 2 {
		t.Errorf("the hook took %d answers, want 2", len(taken))
	}
}

// stampedPair is a stamped SIP socket on loopback and a client connected
// to it, both closed when the test ends.
func stampedPair(t *testing.T) (*stampedConn, *net.UDPConn) {
	t.Helper()
	server, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	sc, err := newStampedConn(server)
	if err != nil {
		t.Fatal(err)
	}
	client, err := net.DialUDP("udp4", nil, server.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return sc, client
}
