package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/parkd/parkd/internal/rawsip"
)

// caller parks one call and hangs it up: each is one change of the
// watched slot. It answers nothing but its own transactions' responses
// and parkd's requests (200), and reads nothing of the music parkd sends
// to its RTP socket.
type caller struct {
	server    netip.AddrPort
	extension string
	conn      *net.UDPConn
	rtp       *net.UDPConn
	responses chan response
}

type response struct {
	status int
	method string // from CSeq
	toTag  string
	branch string
}

func newCaller(server netip.AddrPort, extension string) (*caller, error) {
	ip := &net.UDPAddr{IP: server.Addr().AsSlice()}
	conn, err := net.ListenUDP("udp4", ip)
	if err != nil {
		return nil, err
	}
	rtp, err := net.ListenUDP("udp4", ip)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := &caller{server: server, extension: extension, conn: conn, rtp: rtp, responses: make(chan response, 16)}
	go c.read()
	return c, nil
}

func (c *caller) close() {
	c.conn.Close()
	c.rtp.Close()
}

// call is one parked call, up until hangUp.
type call struct {
	c      *caller
	callID string
	tag    string
	toTag  string
}

// park sends the INVITE and returns once it is answered 200 and ACKed;
// sent is when the INVITE was written.
func (c *caller) park(timeout time.Duration) (cl *call, sent time.Time, err error) {
	cl = &call{c: c, callID: token() + "@blfwatch", tag: token()}
	local := c.conn.LocalAddr().String()
	sdp := "v=0\r\no=blfwatch 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 " + c.server.Addr().String() + "\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(c.rtp.LocalAddr().(*net.UDPAddr).Port) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
	branch := "z9hG4bK" + token()
	invite := "INVITE " + cl.uri() + " SIP/2.0\r\n" + cl.via(branch) + "Max-Forwards: 70\r\n" + cl.from() + cl.to() +
		"Call-ID: " + cl.callID + "\r\nCSeq: 1 INVITE\r\nContact: <sip:watch@" + local + ">\r\n" +
		"Content-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(sdp)) + "\r\n\r\n" + sdp
	sent = time.Now()
	r, err := c.transact([]byte(invite), "INVITE", branch, timeout)
	if err != nil {
		return nil, sent, err
	}
	cl.toTag = r.toTag
	ack := "ACK " + cl.uri() + " SIP/2.0\r\n" + cl.via("z9hG4bK"+token()) + "Max-Forwards: 70\r\n" + cl.from() + cl.to() +
		"Call-ID: " + cl.callID + "\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
	_, err = c.conn.WriteToUDPAddrPort([]byte(ack), c.server)
	return cl, sent, err
}

// hangUp sends BYE and waits for its 200; sent is when the BYE was written.
func (cl *call) hangUp(timeout time.Duration) (sent time.Time, err error) {
	branch := "z9hG4bK" + token()
	bye := "BYE " + cl.uri() + " SIP/2.0\r\n" + cl.via(branch) + "Max-Forwards: 70\r\n" + cl.from() + cl.to() +
		"Call-ID: " + cl.callID + "\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
	sent = time.Now()
	_, err = cl.c.transact([]byte(bye), "BYE", branch, timeout)
	return sent, err
}

// transact sends req, resending it every 500 ms (RFC 3261 Timer A/E) until
// a final response to it; anything but 200 is an error.
func (c *caller) transact(req []byte, method, branch string, timeout time.Duration) (response, error) {
	deadline := time.After(timeout)
	resend := time.NewTicker(500 * time.Millisecond)
	defer resend.Stop()
	if _, err := c.conn.WriteToUDPAddrPort(req, c.server); err != nil {
		return response{}, err
	}
	for {
		select {
		case r := <-c.responses:
			if r.method != method || r.branch != branch || r.status < 200 {
				continue
			}
			if r.status != 200 {
				return r, fmt.Errorf("%s answered %d", method, r.status)
			}
			return r, nil
		case <-resend.C:
			c.conn.WriteToUDPAddrPort(req, c.server)
		case <-deadline:
			return response{}, fmt.Errorf("%s: no final answer within %v", method, timeout)
		}
	}
}

func (c *caller) read() {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := c.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			close(c.responses)
			return
		}
		msg := buf[:n]
		if !bytes.HasPrefix(msg, []byte("SIP/2.0 ")) {
			if !bytes.HasPrefix(msg, []byte("ACK ")) {
				c.conn.WriteToUDPAddrPort(rawsip.AppendOK(nil, msg), from)
			}
			continue
		}
		if r, ok := parseResponse(msg); ok {
			c.responses <- r
		}
	}
}

// parseResponse reads a response's status, CSeq method, To tag and top Via branch.
func parseResponse(msg []byte) (response, bool) {
	var r response
	if len(msg) < 11 {
		return r, false
	}
	status, err := strconv.Atoi(string(msg[8:11]))
	if err != nil {
		return r, false
	}
	r.status = status
	for line := range rawsip.HeaderLines(msg) {
		_, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch rawsip.HeaderName(line) {
		case "cseq":
			_, method, _ := bytes.Cut(value, []byte(" "))
			r.method = string(bytes.TrimSpace(method))
		case "to", "t":
			if _, tag, ok := bytes.Cut(value, []byte(";tag=")); ok {
				if i := bytes.IndexAny(tag, ";> "); i >= 0 {
					tag = tag[:i]
				}
				r.toTag = string(tag)
			}
		case "via", "v":
			if r.branch == "" {
				if _, b, ok := bytes.Cut(value, []byte("branch=")); ok {
					if i := bytes.IndexAny(b, "; ,"); i >= 0 {
						b = b[:i]
					}
					r.branch = string(b)
				}
			}
		}
	}
	return r, r.method != ""
}

func (cl *call) uri() string { return "sip:" + cl.c.extension + "@" + cl.c.server.String() }

func (cl *call) via(branch string) string {
	return "Via: SIP/2.0/UDP " + cl.c.conn.LocalAddr().String() + ";branch=" + branch + "\r\n"
}

func (cl *call) from() string {
	return "From: <sip:watch@" + cl.c.server.Addr().String() + ">;tag=" + cl.tag + "\r\n"
}

func (cl *call) to() string {
	to := "To: <" + cl.uri() + ">"
	if cl.toTag != "" {
		to += ";tag=" + cl.toTag
	}
	return to + "\r\n"
}

func token() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
