package clienttest_test

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sipClient places calls from a few UDP sockets with SIP written by hand
// and answers parkd's requests (BYE; the INVITE of a retrieve to the
// operator) from their own headers. Every call's SDP points its RTP at one
// socket that is never read: the kernel drops the music on hold once its
// buffer is full, as a remote phone's would cost parkd nothing more, and
// the client spends no CPU on 50 packets a second per parked call.
type sipClient struct {
	b       testing.TB
	server  *net.UDPAddr
	conns   []*net.UDPConn
	rtpPort int
	// direction is the SDP direction of the calls placed: sendrecv, or
	// inactive to have parkd play no music on hold to them.
	direction string
	seq       atomic.Int64
	retrans   atomic.Int64 // INVITEs and BYEs sent again for want of an answer

	mu    sync.Mutex
	calls map[string]*rawCall // by Call-ID, until they end
}

type rawCall struct {
	id      string
	conn    *net.UDPConn
	ruri    string
	fromTag string
	branch  string
	invite  []byte
	inbound bool // parkd called us (a retrieve to the operator)

	mu       sync.Mutex
	state    int // 0 inviting, 1 ringing, 2 answered, 3 saying BYE, 4 ended
	status   int
	sent     time.Time
	t200     time.Time
	to       string // To with parkd's tag
	contact  string // parkd's Contact URI
	bye      []byte
	byeSent  time.Time
	byeOK    time.Time
	answered chan struct{}
	ended    chan struct{}
}

func newSIPClient(b testing.TB, sockets int) *sipClient {
	c := &sipClient{b: b, calls: map[string]*rawCall{}, direction: "sendrecv"}
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	c.rtpPort = rtp.LocalAddr().(*net.UDPAddr).Port
	for range sockets {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		conn.SetReadBuffer(4 << 20)
		c.conns = append(c.conns, conn)
	}
	stop := make(chan struct{})
	b.Cleanup(func() {
		close(stop)
		rtp.Close()
		for _, conn := range c.conns {
			conn.Close()
		}
	})
	go c.retransmit(stop)
	return c
}

// connect points the client at parkd's UDP listener and starts reading.
func (c *sipClient) connect(b testing.TB, server string) {
	addr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		b.Fatal(err)
	}
	c.server = addr
	for _, conn := range c.conns {
		go c.read(conn)
	}
}

// parkMany parks n calls at ext, at most 50 unanswered at a time.
func (c *sipClient) parkMany(b testing.TB, ext string, n int) []*rawCall {
	calls := make([]*rawCall, n)
	for i := range calls {
		if i >= 50 {
			if !calls[i-50].waitAnswered(10 * time.Second) {
				b.Fatalf("call %d not answered in 10 s", i-50)
			}
		}
		calls[i] = c.prepare(ext)
		c.send(calls[i])
	}
	for i, call := range calls {
		if !call.waitAnswered(10*time.Second) || call.status != 200 {
			b.Fatalf("park %d of %d: status %d", i, n, call.status)
		}
	}
	return calls
}

func (c *sipClient) active() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

func (c *sipClient) forget(call *rawCall) {
	c.mu.Lock()
	delete(c.calls, call.id)
	c.mu.Unlock()
}

// prepare builds a call to ext; send places it.
func (c *sipClient) prepare(ext string) *rawCall {
	n := c.seq.Add(1)
	conn := c.conns[int(n)%len(c.conns)]
	local := conn.LocalAddr().String()
	call := &rawCall{
		id: fmt.Sprintf("bench-%d-%p@127.0.0.1", n, c), conn: conn,
		ruri:    "sip:" + ext + "@" + c.server.String(),
		fromTag: "f" + strconv.FormatInt(n, 10), branch: "z9hG4bK-inv-" + strconv.FormatInt(n, 10),
		answered: make(chan struct{}), ended: make(chan struct{}),
	}
	sdp := fmt.Sprintf("v=0\r\no=bench %d 1 IN IP4 127.0.0.1\r\ns=bench\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=%s\r\n", n, c.rtpPort, c.direction)
	call.invite = fmt.Appendf(nil, "INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: \"Caller %d\" <sip:%d@127.0.0.1>;tag=%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:%d@%s>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		call.ruri, local, call.branch, n, 100000+n, call.fromTag, call.ruri, call.id, 100000+n, local, len(sdp), sdp)
	return call
}

func (c *sipClient) send(call *rawCall) {
	c.mu.Lock()
	c.calls[call.id] = call
	c.mu.Unlock()
	call.mu.Lock()
	call.sent = time.Now()
	call.mu.Unlock()
	call.conn.WriteToUDP(call.invite, c.server)
}

// bye hangs an answered call up; waitEnded says when its 200 came.
func (c *sipClient) bye(call *rawCall) {
	call.mu.Lock()
	if call.state != 2 {
		call.mu.Unlock()
		return
	}
	call.state = 3
	local := call.conn.LocalAddr().String()
	call.bye = fmt.Appendf(nil, "BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-bye-%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:caller@127.0.0.1>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
		call.contact, local, call.fromTag, call.fromTag, call.to, call.id)
	call.byeSent = time.Now()
	msg := call.bye
	call.mu.Unlock()
	call.conn.WriteToUDP(msg, c.server)
}

func (call *rawCall) waitAnswered(d time.Duration) bool {
	select {
	case <-call.answered:
		return true
	case <-time.After(d):
		return false
	}
}

func (call *rawCall) waitEnded(d time.Duration) bool {
	select {
	case <-call.ended:
		return true
	case <-time.After(d):
		return false
	}
}

// finish ends the call; callers hold call.mu.
func (c *sipClient) finishLocked(call *rawCall) {
	if call.state == 4 {
		return
	}
	call.state = 4
	close(call.ended)
	c.mu.Lock()
	delete(c.calls, call.id)
	c.mu.Unlock()
}

// retransmit resends INVITEs and BYEs left unanswered for 500 ms (UDP
// may drop them under load); after 8 s the call fails with 408.
func (c *sipClient) retransmit(stop chan struct{}) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		c.mu.Lock()
		calls := make([]*rawCall, 0, len(c.calls))
		for _, call := range c.calls {
			calls = append(calls, call)
		}
		c.mu.Unlock()
		now := time.Now()
		for _, call := range calls {
			call.mu.Lock()
			var msg []byte
			switch {
			case call.state == 0 && now.Sub(call.sent) > 8*time.Second:
				call.state, call.status = 2, 408
				close(call.answered)
				c.finishLocked(call)
			case call.state == 0 && now.Sub(call.sent) > 500*time.Millisecond:
				msg = call.invite
			case call.state == 3 && now.Sub(call.byeSent) > 8*time.Second:
				c.finishLocked(call)
			case call.state == 3 && now.Sub(call.byeSent) > 500*time.Millisecond:
				msg = call.bye
			}
			call.mu.Unlock()
			if msg != nil && c.server != nil {
				c.retrans.Add(1)
				call.conn.WriteToUDP(msg, c.server)
			}
		}
	}
}

func (c *sipClient) read(conn *net.UDPConn) {
	buf := make([]byte, 65536)
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		now := time.Now()
		m := parseSIP(buf[:n])
		if m.status > 0 {
			c.response(conn, m, now)
		} else {
			c.request(conn, from, m)
		}
	}
}

func (c *sipClient) response(conn *net.UDPConn, m sipMsg, now time.Time) {
	c.mu.Lock()
	call := c.calls[m.get("call-id")]
	c.mu.Unlock()
	if call == nil {
		return
	}
	num, method, _ := strings.Cut(m.get("cseq"), " ")
	call.mu.Lock()
	defer call.mu.Unlock()
	switch strings.TrimSpace(method) {
	case "INVITE":
		if m.status < 200 {
			if call.state == 0 {
				call.state = 1
			}
			return
		}
		first := call.state < 2
		if first {
			call.state, call.status, call.t200 = 2, m.status, now
			call.to, call.contact = m.get("to"), uriOf(m.get("contact"))
		}
		local := conn.LocalAddr().String()
		var ack []byte
		if m.status < 300 {
			ack = fmt.Appendf(nil, "ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-ack-%s;rport\r\n", call.contact, local, call.fromTag)
		} else {
			ack = fmt.Appendf(nil, "ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\n", call.ruri, local, call.branch)
		}
		ack = fmt.Appendf(ack, "Max-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s ACK\r\nContent-Length: 0\r\n\r\n",
			call.fromTag, m.get("to"), call.id, num)
		conn.WriteToUDP(ack, c.server)
		if first {
			close(call.answered)
			if m.status >= 300 {
				c.finishLocked(call)
			}
		}
	case "BYE":
		if m.status >= 200 && call.state == 3 {
			call.byeOK = now
			c.finishLocked(call)
		}
	}
}

func (c *sipClient) request(conn *net.UDPConn, from *net.UDPAddr, m sipMsg) {
	callID := m.get("call-id")
	switch m.method {
	case "ACK":
		return
	case "INVITE":
		// parkd rings the operator (us): answer at once, with an SDP that
		// points at the silent RTP socket.
		c.mu.Lock()
		if c.calls[callID] == nil {
			c.calls[callID] = &rawCall{id: callID, inbound: true, state: 2, answered: make(chan struct{}), ended: make(chan struct{})}
		}
		c.mu.Unlock()
		h := fnv.New32a()
		h.Write([]byte(callID))
		sdp := fmt.Sprintf("v=0\r\no=operator %d 1 IN IP4 127.0.0.1\r\ns=bench\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
			"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", h.Sum32(), c.rtpPort)
		res := replyTo(nil, m, "200 OK", fmt.Sprintf(";tag=op%x", h.Sum32()))
		res = fmt.Appendf(res, "Contact: <sip:operator@%s>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
			conn.LocalAddr(), len(sdp), sdp)
		conn.WriteToUDP(res, from)
	case "BYE":
		conn.WriteToUDP(append(replyTo(nil, m, "200 OK", ""), "Content-Length: 0\r\n\r\n"...), from)
		c.mu.Lock()
		call := c.calls[callID]
		c.mu.Unlock()
		if call != nil {
			call.mu.Lock()
			c.finishLocked(call)
			call.mu.Unlock()
		}
	default:
		conn.WriteToUDP(append(replyTo(nil, m, "200 OK", ""), "Content-Length: 0\r\n\r\n"...), from)
	}
}

// sipMsg is a parsed SIP message: enough of it for the client.
type sipMsg struct {
	method string // requests
	status int    // responses
	hdrs   [][2]string
}

var compact = map[string]string{"i": "call-id", "f": "from", "t": "to", "v": "via", "m": "contact", "l": "content-length"}

func parseSIP(msg []byte) sipMsg {
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	var m sipMsg
	if rest, ok := strings.CutPrefix(lines[0], "SIP/2.0 "); ok {
		m.status, _ = strconv.Atoi(rest[:min(3, len(rest))])
	} else {
		m.method, _, _ = strings.Cut(lines[0], " ")
	}
	for _, line := range lines[1:] {
		name, value, _ := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		if full, ok := compact[name]; ok {
			name = full
		}
		m.hdrs = append(m.hdrs, [2]string{name, strings.TrimSpace(value)})
	}
	return m
}

func (m sipMsg) get(name string) string {
	for _, h := range m.hdrs {
		if h[0] == name {
			return h[1]
		}
	}
	return ""
}

var canonical = map[string]string{"via": "Via", "from": "From", "call-id": "Call-ID", "cseq": "CSeq"}

// replyTo starts a response to req: its Vias, From, To (toTag added when
// To has none), Call-ID and CSeq.
func replyTo(dst []byte, req sipMsg, status, toTag string) []byte {
	dst = append(dst, "SIP/2.0 "+status+"\r\n"...)
	for _, h := range req.hdrs {
		switch h[0] {
		case "via", "from", "call-id", "cseq":
			dst = fmt.Appendf(dst, "%s: %s\r\n", canonical[h[0]], h[1])
		case "to":
			v := h[1]
			if !strings.Contains(v, ";tag=") {
				v += toTag
			}
			dst = fmt.Appendf(dst, "To: %s\r\n", v)
		}
	}
	return dst
}

// uriOf takes the URI out of a name-addr such as a Contact.
func uriOf(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return v[i+1 : i+j]
		}
	}
	v, _, _ = strings.Cut(v, ";")
	return v
}
