package main

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/parkd/parkd/bench/internal/sipmsg"
	"github.com/parkd/parkd/internal/rawsip"
)

// legState is where one call of a pair is.
type legState int

const (
	inviting legState = iota
	up
	hangingUp
	done
)

// leg is one call the generator places: the parked caller or the retriever.
type leg struct {
	g      *generator
	pair   *pair
	role   string // "park" or "retrieve"
	target string
	sock   *sipSocket
	callID string
	tag    string
	timed  bool // its relayed audio is timed (openSampled)

	mu        sync.Mutex
	state     legState
	toTag     string
	branch    string
	invite    []byte
	sentAt    time.Time
	answered  bool
	request   []byte // the request being retransmitted (INVITE or BYE)
	retrans   *time.Timer
	interval  time.Duration
	giveUp    *time.Timer
	rtp       *rtpStream
	failure   string
	byeBranch string
}

const (
	t1 = 500 * time.Millisecond // RFC 3261 Timer T1
	t2 = 4 * time.Second
)

func (l *leg) via(branch string) string {
	return "Via: SIP/2.0/UDP " + l.sock.addr.String() + ";branch=" + branch + "\r\n"
}

func (l *leg) fromHeader() string {
	return "From: <sip:" + l.role + "@" + l.sock.addr.Addr().String() + ">;tag=" + l.tag + "\r\n"
}

func (l *leg) toHeader() string {
	to := "To: <sip:" + l.target + "@" + l.g.target.String() + ">"
	if l.toTag != "" {
		to += ";tag=" + l.toTag
	}
	return to + "\r\n"
}

// start sends the INVITE with an SDP offer for the leg's RTP socket.
func (l *leg) start() {
	open := l.g.rtp.open
	if l.timed {
		open = l.g.rtp.openSampled
	}
	rtp, err := open()
	if err != nil {
		l.finish("no RTP socket: " + err.Error())
		return
	}
	l.mu.Lock()
	l.rtp = rtp
	l.branch = newBranch()
	sdp := "v=0\r\no=loadgen 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(rtp.port) + " RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
	l.invite = []byte("INVITE sip:" + l.target + "@" + l.g.target.String() + " SIP/2.0\r\n" +
		l.via(l.branch) + "Max-Forwards: 70\r\n" + l.fromHeader() + l.toHeader() +
		"Call-ID: " + l.callID + "\r\nCSeq: 1 INVITE\r\n" +
		"Contact: <sip:" + l.role + "@" + l.sock.addr.String() + ">\r\n" +
		"Content-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(sdp)) + "\r\n\r\n" + sdp)
	l.sentAt = time.Now()
	l.sendLocked(l.invite)
	l.giveUp = time.AfterFunc(l.g.timeout, func() { l.finish("no final answer to INVITE") })
	l.mu.Unlock()
}

// sendLocked sends a request and retransmits it (Timer A / E: T1, doubling
// to T2) until stopRetransLocked.
func (l *leg) sendLocked(req []byte) {
	l.request, l.interval = req, t1
	l.sock.send(req)
	l.retrans = time.AfterFunc(l.interval, l.retransmit)
}

func (l *leg) retransmit() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.request == nil || l.state == done {
		return
	}
	l.g.stats.retransmissions.Add(1)
	l.sock.send(l.request)
	l.interval = min(2*l.interval, t2)
	l.retrans.Reset(l.interval)
}

func (l *leg) stopRetransLocked() {
	l.request = nil
	if l.retrans != nil {
		l.retrans.Stop()
	}
}

// onResponse handles a response to the leg's INVITE or BYE, which arrived
// at the socket at arrived.
func (l *leg) onResponse(m sipmsg.Message, raw []byte, arrived time.Time) {
	l.mu.Lock()
	switch {
	case m.Method == "INVITE" && m.Status < 200:
		l.stopRetransLocked() // a provisional stops INVITE retransmission (Timer A)
		l.mu.Unlock()
	case m.Method == "INVITE" && m.Status < 300:
		l.toTag = m.ToTag
		l.sock.send(l.ack(newBranch()))
		if l.answered {
			l.mu.Unlock() // a retransmitted 200: ACKed again
			return
		}
		l.answered = true
		l.stopRetransLocked()
		l.giveUp.Stop()
		l.g.stats.latency(l.role, l.sentAt, arrived, time.Now())
		ip, port, ok := sipmsg.SDPAudio(sipmsg.Body(raw))
		if !ok {
			l.mu.Unlock()
			l.finish("200 without an SDP answer")
			return
		}
		l.state = up
		if addr, err := netip.ParseAddr(ip); err == nil {
			l.rtp.startSending(netip.AddrPortFrom(addr, uint16(port)))
		}
		l.mu.Unlock()
		l.pair.answered(l)
	case m.Method == "INVITE":
		if !l.answered { // a final failure; ACK it (same branch) and count it
			l.stopRetransLocked()
			l.sock.send(l.ack(l.branch))
			l.answered = true
			if m.Status == 503 {
				l.g.stats.unavailable.Add(1)
			}
			l.mu.Unlock()
			l.finish(fmt.Sprintf("INVITE answered %d", m.Status))
			return
		}
		l.sock.send(l.ack(l.branch))
		l.mu.Unlock()
	case m.Method == "BYE" && m.Status >= 200:
		l.stopRetransLocked()
		l.mu.Unlock()
		if m.Status < 300 {
			l.finish("")
		} else {
			l.finish(fmt.Sprintf("BYE answered %d", m.Status))
		}
	default:
		l.mu.Unlock()
	}
}

func (l *leg) ack(branch string) []byte {
	return []byte("ACK sip:" + l.target + "@" + l.g.target.String() + " SIP/2.0\r\n" +
		l.via(branch) + "Max-Forwards: 70\r\n" + l.fromHeader() + l.toHeader() +
		"Call-ID: " + l.callID + "\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n")
}

// hangUp sends BYE (the retriever, after talking; any leg at the end).
func (l *leg) hangUp() {
	l.mu.Lock()
	if l.state != up {
		l.mu.Unlock()
		return
	}
	l.state = hangingUp
	l.rtp.stopSending()
	l.byeBranch = newBranch()
	bye := []byte("BYE sip:" + l.target + "@" + l.g.target.String() + " SIP/2.0\r\n" +
		l.via(l.byeBranch) + "Max-Forwards: 70\r\n" + l.fromHeader() + l.toHeader() +
		"Call-ID: " + l.callID + "\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n")
	l.sendLocked(bye)
	l.giveUp = time.AfterFunc(l.g.timeout, func() { l.finish("BYE not answered") })
	l.mu.Unlock()
}

// onBye is parkd hanging the leg up: what the parked caller waits for once
// retrieved and bridged, and a failure for a retriever.
func (l *leg) onBye(req []byte) {
	l.sock.send(rawsip.AppendOK(nil, req))
	l.mu.Lock()
	was := l.state
	l.mu.Unlock()
	switch {
	case was == done:
	case l.role == "park" && was == up:
		// Some retriever took this call (*700 takes the longest waiting,
		// not this pair's) and hung up; parkd ends the parked leg.
		l.finish("")
	default:
		l.finish("hung up by parkd")
	}
}

// finish ends the leg once; failure "" is success.
func (l *leg) finish(failure string) {
	l.mu.Lock()
	if l.state == done {
		l.mu.Unlock()
		return
	}
	l.state, l.failure = done, failure
	l.stopRetransLocked()
	if l.giveUp != nil {
		l.giveUp.Stop()
	}
	if l.rtp != nil {
		l.rtp.close()
	}
	l.mu.Unlock()
	l.g.calls.Delete(l.callID)
	l.pair.legDone(l)
}

func newBranch() string { return "z9hG4bK" + randomToken() }

// sipSocket is one of the generator's SIP sources.
type sipSocket struct {
	conn *net.UDPConn
	addr netip.AddrPort
	to   netip.AddrPort
}

func (s *sipSocket) send(b []byte) { s.conn.WriteToUDPAddrPort(b, s.to) }
