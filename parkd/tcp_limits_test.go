package parkd_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore"
)

// sip.allow and sip.tcp reach the daemon's TCP listener: a connection from
// outside sip.allow and one past max_per_source are closed unanswered, and
// a message trickled past message_timeout closes its connection.
func TestSIPTCPLimitsFromConfig(t *testing.T) {
	d := startDaemon(t, func(c *parkd.Config) {
		c.SIP.Allow = []string{"127.0.0.1/32"}
		c.SIP.TCP.MaxPerSource = 1
		c.SIP.TCP.MessageTimeout = parkd.Duration(time.Second)
	})

	first := tcpDialFrom(t, "127.0.0.1", d.tcp)
	if got := tcpOptionsOn(t, first); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS over TCP: %q", got)
	}
	for _, from := range []string{"127.0.0.1", "127.0.0.2"} { // past max_per_source; outside sip.allow
		if got := tcpOptionsOn(t, tcpDialFrom(t, from, d.tcp)); !strings.HasPrefix(got, "closed") {
			t.Errorf("OPTIONS from %s: %q, want the connection closed unanswered", from, got)
		}
	}
	// The first connection starts a message and stops: closed after 1 s.
	io.WriteString(first, "OPTIONS sip:700@127.0.0.1 SIP/2.0\r\nVia: ")
	first.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := first.Read(make([]byte, 1)); n != 0 || !closedErr(err) {
		t.Errorf("trickled message: read %d bytes, %v; want the connection closed", n, err)
	}

	tcp := d.srv.Stats().SIP.TCP
	want := fmt.Sprint([]sipcore.ReasonCount{{Reason: sipcore.TCPNotAllowed, Count: 1}, {Reason: sipcore.TCPMaxPerSource, Count: 1}})
	if got := fmt.Sprint(tcp.Refused); got != want {
		t.Errorf("refused %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(tcp.Closed), fmt.Sprint([]sipcore.ReasonCount{{Reason: sipcore.TCPSlowMessage, Count: 1}}); got != want {
		t.Errorf("closed %s, want %s", got, want)
	}
}

func tcpDialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	c, err := dialer.Dial("tcp", addr)
	if err != nil {
		if closedErr(err) {
			return closedConn{}
		}
		t.Fatalf("dial %s from %s: %v", addr, from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedConn stands for a connection reset before the dial returned.
type closedConn struct{ net.Conn }

// tcpOptionsOn sends an OPTIONS on c and returns the answer's status line,
// or "closed" if parkd closed the connection without one.
func tcpOptionsOn(t *testing.T, c net.Conn) string {
	t.Helper()
	if _, ok := c.(closedConn); ok {
		return "closed at connect"
	}
	local := c.LocalAddr().String()
	io.WriteString(c, fmt.Sprintf("OPTIONS sip:700@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP %s;branch=z9hG4bK-limits-%d\r\n"+
		"From: <sip:probe@%s>;tag=limits\r\nTo: <sip:700@%s>\r\n"+
		"Call-ID: limits-%d@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		c.RemoteAddr(), local, time.Now().UnixNano(), local, c.RemoteAddr(), time.Now().UnixNano()))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if line == "" && closedErr(err) {
		return "closed: " + err.Error()
	}
	if err != nil {
		return "no answer: " + err.Error()
	}
	return strings.TrimSpace(line)
}

func closedErr(err error) bool {
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}
