package main

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/parkd/parkd/bench/internal/sipmsg"
	"github.com/parkd/parkd/internal/rawsip"
)

// floor is the whole server: one SIP socket, one RTP socket per call, a
// 20 ms timer for the music, all in one epoll set that one locked thread
// waits on. Its state is the loop's alone, so nothing is locked.
type floor struct {
	sip      int
	addr     netip.AddrPort
	epfd     int
	tick     int // timerfd, every 20 ms
	park     string
	retrieve string

	calls   map[string]*call // by Call-ID
	ended   recentlyEnded    // so a retransmitted BYE gets its 200 again
	byFD    []*call
	waiting []*call // parked, oldest first from head; ended calls are skipped
	head    int
	music   []*call
	next    uint64 // for tags and branches

	io     *batchIO
	ready  []int    // RTP sockets ready in this wake-up
	played int      // music packets sent
	tunes  [][]byte // one packet buffer per batch slot for the music
	sipBuf []byte   // a SIP datagram
	events []unix.EpollEvent

	answered, relayed, unparsed int
}

// call is one answered call: parked (in waiting and music) or bridged to
// peer.
type call struct {
	id       string
	fd       int
	port     int
	source   unix.Sockaddr // where its INVITE came from, where its BYE goes
	from, to string        // the dialog's header values, to with our tag
	answer   []byte        // the 200, sent again for a retransmitted INVITE
	peer     *call
	parked   bool
	musicAt  int
	seq      uint16
	ts       uint32
}

const (
	musicLen  = 172 // RTP header and 20 ms of PCMU
	sipBatch  = 64  // SIP datagrams read per wake-up before the audio's turn
	maxEvents = 256
)

func newFloor(addr netip.AddrPort, park, retrieve string, useRing bool) (*floor, error) {
	if !addr.Addr().Is4() {
		return nil, fmt.Errorf("%v: IPv4 only", addr)
	}
	f := &floor{park: park, retrieve: retrieve, calls: map[string]*call{}, sipBuf: make([]byte, 65536),
		events: make([]unix.EpollEvent, maxEvents), sip: -1, epfd: -1, tick: -1}
	var err error
	if f.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, err
	}
	if f.sip, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0); err != nil {
		f.close()
		return nil, err
	}
	unix.SetsockoptInt(f.sip, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	if err := unix.Bind(f.sip, &unix.SockaddrInet4{Addr: addr.Addr().As4(), Port: int(addr.Port())}); err != nil {
		f.close()
		return nil, fmt.Errorf("SIP socket %v: %w", addr, err)
	}
	sa, err := unix.Getsockname(f.sip)
	if err != nil {
		f.close()
		return nil, err
	}
	f.addr = netip.AddrPortFrom(addr.Addr(), uint16(sa.(*unix.SockaddrInet4).Port))
	if f.tick, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		f.close()
		return nil, err
	}
	every := unix.NsecToTimespec(20e6)
	if err := unix.TimerfdSettime(f.tick, 0, &unix.ItimerSpec{Interval: every, Value: every}, nil); err != nil {
		f.close()
		return nil, err
	}
	for _, fd := range []int{f.sip, f.tick} {
		if err := f.watch(fd); err != nil {
			f.close()
			return nil, err
		}
	}
	f.io = newBatchIO(useRing)
	f.tunes = make([][]byte, batchMax)
	for i := range f.tunes {
		f.tunes[i] = make([]byte, musicLen)
		f.tunes[i][0] = 0x80 // RTP version 2, PCMU
		for j := 12; j < musicLen; j++ {
			f.tunes[i][j] = 0xff // µ-law silence
		}
	}
	return f, nil
}

func (f *floor) watch(fd int) error {
	return unix.EpollCtl(f.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
}

// run serves until stop is set (it looks every 20 ms, at the music's tick).
func (f *floor) run(stop *atomic.Bool) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for !stop.Load() {
		n, err := unix.EpollWait(f.epfd, f.events, 100)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("epoll_wait: %w", err)
		}
		sipReady, tick := false, false
		f.ready = f.ready[:0]
		for _, ev := range f.events[:n] {
			switch fd := int(ev.Fd); fd {
			case f.sip:
				sipReady = true
			case f.tick:
				tick = true
			default:
				f.ready = append(f.ready, fd)
			}
		}
		// SIP before audio, so that an INVITE waits for no relaying.
		// Calls it ends close their sockets before the audio's turn; a
		// number closed may be a new call's socket by then, whose
		// datagram is then read as that call's, which it is.
		if sipReady {
			f.readSIP()
		}
		f.relayReady()
		if tick {
			f.playMusic()
		}
		if f.io.err != nil {
			return fmt.Errorf("io_uring: %w (-uring=false does without)", f.io.err)
		}
	}
	return nil
}

func (f *floor) readSIP() {
	for range sipBatch {
		n, from, err := unix.Recvfrom(f.sip, f.sipBuf, unix.MSG_DONTWAIT)
		if err != nil {
			return // EAGAIN: read them all
		}
		f.onSIP(f.sipBuf[:n], from)
	}
}

// relayReady reads one datagram from each ready RTP socket and sends a
// bridged call's to its peer; a parked caller's is read and dropped.
func (f *floor) relayReady() {
	for len(f.ready) > 0 {
		k := min(len(f.ready), batchMax)
		chunk := f.ready[:k]
		got := f.io.readAll(chunk)
		for i, fd := range chunk {
			if got[i] <= 0 || fd >= len(f.byFD) {
				continue
			}
			if c := f.byFD[fd]; c != nil && c.peer != nil {
				f.io.send(c.peer.fd, f.io.in[i][:got[i]])
				f.relayed++
			}
		}
		f.io.flush() // before the next chunk's reads reuse the buffers
		f.ready = f.ready[k:]
	}
}

func (f *floor) playMusic() {
	var expirations [8]byte
	unix.Read(f.tick, expirations[:])
	for _, c := range f.music {
		pkt := f.tunes[f.io.queued()]
		c.seq++
		c.ts += 160
		pkt[2], pkt[3] = byte(c.seq>>8), byte(c.seq)
		pkt[4], pkt[5], pkt[6], pkt[7] = byte(c.ts>>24), byte(c.ts>>16), byte(c.ts>>8), byte(c.ts)
		pkt[11] = byte(c.fd)
		f.io.send(c.fd, pkt)
		f.played++
	}
	f.io.flush()
}

func (f *floor) onSIP(b []byte, from unix.Sockaddr) {
	m, err := sipmsg.Parse(b)
	if err != nil {
		f.unparsed++
		return
	}
	if !m.Request {
		return // a 200 to one of our BYEs
	}
	switch m.Method {
	case "ACK":
	case "INVITE":
		f.onInvite(m, b, from)
	case "BYE":
		f.onBye(m, b, from)
	default:
		f.reply(from, rawsip.AppendOK(nil, b))
	}
}

func (f *floor) onInvite(m sipmsg.Message, raw []byte, from unix.Sockaddr) {
	if c := f.calls[m.CallID]; c != nil {
		f.reply(from, c.answer) // a retransmission
		return
	}
	if len(m.From) == 0 || len(m.To) == 0 || len(m.Via) == 0 {
		f.refuse(from, raw, 400, "Bad Request")
		return
	}
	// Only a loopback address is sent to: the floor takes no
	// destination from a message it cannot trust beyond this machine.
	ip, port, ok := sipmsg.SDPAudio(sipmsg.Body(raw))
	media, err := netip.ParseAddr(ip)
	if !ok || err != nil || !media.Is4() || !media.IsLoopback() || port > 65535 {
		f.refuse(from, raw, 488, "Not Acceptable Here")
		return
	}
	var parked *call
	switch user := uriUser(m.URI); user {
	case f.park:
	case f.retrieve:
		if parked = f.longestWaiting(); parked == nil {
			f.refuse(from, raw, 480, "Temporarily Unavailable")
			return
		}
	default:
		f.refuse(from, raw, 404, "Not Found")
		return
	}
	c, err := f.open(netip.AddrPortFrom(media, uint16(port)))
	if err != nil {
		if parked != nil {
			f.end(parked) // its retriever cannot be answered; hang it up rather than lose its place silently
			f.bye(parked)
		}
		f.refuse(from, raw, 503, "Service Unavailable")
		return
	}
	tag := f.token()
	c.id, c.source = m.CallID, from
	c.from, c.to = sipmsg.HeaderValue(m.From[0]), sipmsg.HeaderValue(m.To[0])
	if m.ToTag == "" {
		c.to += ";tag=" + tag
	}
	sdp := "v=0\r\no=setupfloor 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(c.port) + " RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
	c.answer = rawsip.AppendAnswer(nil, raw, tag,
		"Contact: <sip:floor@"+f.addr.String()+">\r\nContent-Type: application/sdp\r\n", sdp)
	f.calls[c.id] = c
	if parked == nil {
		c.parked, c.musicAt = true, len(f.music)
		f.waiting = append(f.waiting, c)
		f.music = append(f.music, c)
	} else {
		f.unpark(parked)
		c.peer, parked.peer = parked, c
	}
	f.answered++
	f.reply(from, c.answer)
}

func (f *floor) onBye(m sipmsg.Message, raw []byte, from unix.Sockaddr) {
	c := f.calls[m.CallID]
	if c == nil {
		if f.ended.has(m.CallID) {
			f.reply(from, rawsip.AppendOK(nil, raw)) // our 200 was lost: the caller sent its BYE again
			return
		}
		f.refuse(from, raw, 481, "Call/Transaction Does Not Exist")
		return
	}
	f.reply(from, rawsip.AppendOK(nil, raw))
	f.end(c)
	if p := c.peer; p != nil {
		f.end(p)
		f.bye(p)
	}
}

// bye hangs up c: sent once, as the floor retransmits nothing.
func (f *floor) bye(c *call) {
	var host string
	if sa, ok := c.source.(*unix.SockaddrInet4); ok {
		host = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)).String()
	}
	req := "BYE sip:" + host + " SIP/2.0\r\nVia: SIP/2.0/UDP " + f.addr.String() + ";branch=z9hG4bK" + f.token() +
		"\r\nMax-Forwards: 70\r\nFrom: " + c.to + "\r\nTo: " + c.from + "\r\nCall-ID: " + c.id +
		"\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n"
	f.reply(c.source, []byte(req))
}

// longestWaiting takes the parked call that has waited longest out of
// the queue, or nil.
func (f *floor) longestWaiting() *call {
	for f.head < len(f.waiting) {
		c := f.waiting[f.head]
		f.waiting[f.head] = nil
		f.head++
		if c.parked {
			return c
		}
	}
	f.waiting, f.head = f.waiting[:0], 0
	return nil
}

// unpark stops c's music; its place in waiting is skipped from now on.
func (f *floor) unpark(c *call) {
	if !c.parked {
		return
	}
	c.parked = false
	last := len(f.music) - 1
	f.music[c.musicAt] = f.music[last]
	f.music[c.musicAt].musicAt = c.musicAt
	f.music[last] = nil
	f.music = f.music[:last]
	if f.head > 1024 && 2*f.head > len(f.waiting) { // keep the queue's dead front from growing
		n := copy(f.waiting, f.waiting[f.head:])
		clear(f.waiting[n:])
		f.waiting, f.head = f.waiting[:n], 0
	}
}

// open makes a call's RTP socket, connected to where its SDP said.
func (f *floor) open(to netip.AddrPort) (*call, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*call, error) {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: f.addr.Addr().As4()}); err != nil {
		return fail(err)
	}
	if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: to.Addr().As4(), Port: int(to.Port())}); err != nil {
		return fail(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fail(err)
	}
	if err := f.watch(fd); err != nil {
		return fail(err)
	}
	c := &call{fd: fd, port: sa.(*unix.SockaddrInet4).Port, musicAt: -1}
	for fd >= len(f.byFD) {
		f.byFD = append(f.byFD, nil)
	}
	f.byFD[fd] = c
	return c, nil
}

// end forgets c and closes its socket (which leaves the epoll set).
func (f *floor) end(c *call) {
	if f.calls[c.id] != c {
		return
	}
	delete(f.calls, c.id)
	f.ended.add(c.id)
	f.unpark(c)
	f.byFD[c.fd] = nil
	unix.Close(c.fd)
}

// refuse answers req with a final failure, its To tagged as RFC 3261
// §8.2.6.2 asks.
func (f *floor) refuse(to unix.Sockaddr, req []byte, status int, reason string) {
	f.reply(to, rawsip.AppendResponse(nil, req, status, reason, f.token(), "", ""))
}

func (f *floor) reply(to unix.Sockaddr, b []byte) {
	unix.Sendto(f.sip, b, unix.MSG_DONTWAIT, to)
}

func (f *floor) token() string {
	f.next++
	return "f" + strconv.FormatUint(f.next, 36)
}

// recentlyEnded remembers the Call-IDs of the last endedKept calls that
// ended, and no more.
type recentlyEnded struct {
	ids   map[string]struct{}
	order []string // a ring: the oldest at next once full
	next  int
}

// endedKept covers every call ended in the 32 s (64×T1) a BYE is
// retransmitted, at 1,000 pairs/s.
const endedKept = 1 << 16

func (r *recentlyEnded) has(id string) bool {
	_, ok := r.ids[id]
	return ok
}

func (r *recentlyEnded) add(id string) {
	if r.ids == nil {
		r.ids = make(map[string]struct{}, endedKept)
	}
	if len(r.order) < endedKept {
		r.order = append(r.order, id)
	} else {
		delete(r.ids, r.order[r.next])
		r.order[r.next] = id
		r.next = (r.next + 1) % endedKept
	}
	r.ids[id] = struct{}{}
}

// uriUser is the user part of a SIP URI: "*700" of "sip:*700@host".
func uriUser(uri string) string {
	uri = strings.TrimPrefix(uri, "sip:")
	user, _, _ := strings.Cut(uri, "@")
	return user
}

func (f *floor) close() {
	for _, c := range f.calls {
		unix.Close(c.fd)
	}
	clear(f.calls)
	for _, fd := range []int{f.sip, f.tick, f.epfd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	if f.io != nil {
		f.io.close()
	}
}
