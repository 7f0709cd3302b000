package sipcore

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// sipgo's read loop is restarted after readLoopRestartAfter new sources:
// the pool lets go of the sources it remembered instead of keeping one
// entry per address for ever, a restart loses no request, and answers to
// a source seen before and after restarts still leave from the listener.
func TestReadLoopRestartLetsSourcesGo(t *testing.T) {
	old := readLoopRestartAfter
	readLoopRestartAfter = 16
	t.Cleanup(func() { readLoopRestartAfter = old })
	ep, _, addr := newDoorEndpoint(t, nil)
	pool := ep.ua.TransportLayer().Pool("udp")
	dst, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}

	subscribe := func(c *net.UDPConn, n int) *net.UDPAddr {
		t.Helper()
		return subscribeToNothing(t, c, dst, fmt.Sprint("restart-", n))
	}
	newSource := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	regular := newSource()
	if from := subscribe(regular, 0); from.String() != addr {
		t.Fatalf("answer from %s, want the listener %s", from, addr)
	}
	const sources = 1000
	for i := range sources {
		// Each answered, and from the listener: no request lost to a
		// restart, and none answered from a socket sipgo made because
		// the restart took its source's entry away.
		if from := subscribe(newSource(), i+1); from.String() != addr {
			t.Fatalf("source %d: answer from %s, want the listener %s", i, from, addr)
		}
		if i%50 == 0 {
			if from := subscribe(regular, 1000+i); from.String() != addr {
				t.Fatalf("after %d sources: answer from %s, want the listener %s", i, from, addr)
			}
		}
	}
	if n := int(ep.stamped[0].restarts.Load()); n < sources/readLoopRestartAfter/2 {
		t.Errorf("%d restarts of the read loop for %d sources, want at least %d", n, sources, sources/readLoopRestartAfter/2)
	}
	// The listener's own entry, what the current loop added since its
	// start, and the sources carried over the last restart: nothing older.
	if n, most := pool.Size(), 1+readLoopRestartAfter+restartCarry+1; n > most {
		t.Errorf("the pool holds %d connections after %d sources, want at most %d", n, sources, most)
	}
	if c, err := ep.ua.TransportLayer().GetConnection("udp", addr); err != nil || c == nil {
		t.Errorf("the listener is not in the pool after the restarts: %v", err)
	}
	if from := subscribe(regular, 2000); from.String() != addr {
		t.Fatalf("answer from %s, want the listener %s", from, addr)
	}
}

// subscribeToNothing sends a SUBSCRIBE to nothing parkd has from c to dst
// and returns the source of its final answer, which sipgo's server
// transaction sends: the listener, unless sipgo lost the entry for c's
// address in its pool and made a socket of its own.
func subscribeToNothing(t *testing.T, c *net.UDPConn, dst *net.UDPAddr, id string) *net.UDPAddr {
	t.Helper()
	lines := []string{
		"SUBSCRIBE sip:nothing@" + dst.String() + " SIP/2.0",
		fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK%s", c.LocalAddr(), id),
		"Max-Forwards: 70",
		"From: <sip:w@127.0.0.2>;tag=w",
		"To: <sip:nothing@127.0.0.1>",
		"Call-ID: " + id,
		"CSeq: 1 SUBSCRIBE",
		"Event: dialog",
		"Contact: <sip:w@" + c.LocalAddr().String() + ">",
		"Expires: 60",
		"Content-Length: 0", "", "",
	}
	if _, err := c.WriteTo([]byte(strings.Join(lines, "\r\n")), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		k, from, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("SUBSCRIBE %s from %s: no final answer: %v", id, c.LocalAddr(), err)
		}
		if msg := string(buf[:k]); strings.HasPrefix(msg, "SIP/2.0 ") && msg[8] >= '2' {
			return from
		}
	}
}
