package siptest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// Received is one RTP packet the phone got, with its arrival time.
type Received struct {
	rtp.Packet
	At time.Time
}

// RTP is a phone's media socket: it offers PCMU/PCMA, sends frames and
// records everything that arrives.
type RTP struct {
	conn  *net.UDPConn
	event bool

	mu      sync.Mutex
	remote  netip.AddrPort
	codec   string // negotiated: PCMU or PCMA
	audioPT uint8
	eventPT uint8
	ssrc    uint32
	seq     uint16
	ts      uint32

	recv chan Received
}

func newRTP(host string) (*RTP, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
	if err != nil {
		return nil, fmt.Errorf("siptest: rtp socket: %w", err)
	}
	r := &RTP{conn: conn, ssrc: rand.Uint32(), seq: uint16(rand.Uint32()), ts: rand.Uint32(), recv: make(chan Received, 8192)}
	go r.read()
	return r, nil
}

// Close releases the socket.
func (r *RTP) Close() { r.conn.Close() }

// ip is the local RTP address announced in SDP.
func (r *RTP) ip() string { return r.conn.LocalAddr().(*net.UDPAddr).IP.String() }

// Port is the local RTP port announced in SDP.
func (r *RTP) Port() int { return r.conn.LocalAddr().(*net.UDPAddr).Port }

// Codec is the codec the far end answered with.
func (r *RTP) Codec() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.codec
}

// Remote is where the far end's SDP says to send RTP.
func (r *RTP) Remote() netip.AddrPort {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.remote
}

// EventPT is the telephone-event payload type the far end answered (0: none).
func (r *RTP) EventPT() uint8 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.eventPT
}

var staticPT = map[string]int{"PCMU": 0, "PCMA": 8}

// offer is the phone's SDP: the codecs in order, telephone-event as 101.
func (r *RTP) offer(codecs []string, direction string) []byte {
	var fmts, maps []string
	for _, c := range codecs {
		pt, ok := staticPT[c]
		if !ok {
			pt = 96 + len(fmts) // an unknown codec gets a dynamic type
		}
		fmts = append(fmts, strconv.Itoa(pt))
		maps = append(maps, fmt.Sprintf("a=rtpmap:%d %s/8000\r\n", pt, c))
	}
	if r.event {
		fmts = append(fmts, "101")
		maps = append(maps, "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n")
	}
	return []byte("v=0\r\n" +
		"o=siptest 1 1 IN IP4 " + r.ip() + "\r\n" +
		"s=siptest\r\n" +
		"c=IN IP4 " + r.ip() + "\r\n" +
		"t=0 0\r\n" +
		fmt.Sprintf("m=audio %d RTP/AVP %s\r\n", r.Port(), strings.Join(fmts, " ")) +
		strings.Join(maps, "") +
		"a=ptime:20\r\n" +
		"a=" + direction + "\r\n")
}

// applyRemote reads the far end's SDP answer.
func (r *RTP) applyRemote(body []byte) error {
	var desc sdp.SessionDescription
	if err := desc.Unmarshal(body); err != nil {
		return err
	}
	for _, md := range desc.MediaDescriptions {
		if md.MediaName.Media != "audio" || md.MediaName.Port.Value == 0 || len(md.MediaName.Formats) == 0 {
			continue
		}
		ci := md.ConnectionInformation
		if ci == nil {
			ci = desc.ConnectionInformation
		}
		if ci == nil || ci.Address == nil {
			return errors.New("no c= line")
		}
		ip, err := netip.ParseAddr(ci.Address.Address)
		if err != nil {
			return err
		}
		pt, _ := strconv.Atoi(md.MediaName.Formats[0])
		r.mu.Lock()
		defer r.mu.Unlock()
		r.remote = netip.AddrPortFrom(ip, uint16(md.MediaName.Port.Value))
		r.audioPT = uint8(pt)
		r.codec = map[int]string{0: "PCMU", 8: "PCMA"}[pt]
		r.eventPT = 0
		for _, a := range md.Attributes {
			if a.Key == "rtpmap" && strings.Contains(strings.ToLower(a.Value), "telephone-event") {
				n, _ := strconv.Atoi(strings.Fields(a.Value)[0])
				r.eventPT = uint8(n)
			}
			if a.Key == "rtpmap" && strings.HasPrefix(a.Value, md.MediaName.Formats[0]+" ") {
				r.codec = strings.ToUpper(strings.Split(strings.Fields(a.Value)[1], "/")[0])
			}
		}
		return nil
	}
	return errors.New("no audio stream in the answer")
}

// Send sends one audio frame with the negotiated payload type.
func (r *RTP) Send(payload []byte) error {
	r.mu.Lock()
	pt := r.audioPT
	r.mu.Unlock()
	return r.send(pt, payload, 160)
}

// SendEvent sends one RFC 4733 telephone-event packet.
func (r *RTP) SendEvent(event byte, end bool, duration uint16) error {
	r.mu.Lock()
	pt := r.eventPT
	r.mu.Unlock()
	if pt == 0 {
		return errors.New("siptest: telephone-event was not negotiated")
	}
	flags := byte(10) // volume -10 dBm0
	if end {
		flags |= 0x80
	}
	return r.send(pt, []byte{event, flags, byte(duration >> 8), byte(duration)}, 0)
}

func (r *RTP) send(pt uint8, payload []byte, tsStep uint32) error {
	r.mu.Lock()
	ts := r.ts
	r.ts += tsStep
	r.mu.Unlock()
	return r.sendAt(pt, ts, false, payload)
}

// sendAt sends one packet with the next sequence number and timestamp ts.
func (r *RTP) sendAt(pt uint8, ts uint32, marker bool, payload []byte) error {
	r.mu.Lock()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, Marker: marker, PayloadType: pt, SequenceNumber: r.seq, Timestamp: ts, SSRC: r.ssrc}, Payload: payload}
	r.seq++
	remote := r.remote
	r.mu.Unlock()
	buf, err := pkt.Marshal()
	if err != nil {
		return err
	}
	_, err = r.conn.WriteToUDPAddrPort(buf, remote)
	return err
}

// SendStream sends n frames of payload paced every 20 ms, in the background.
func (r *RTP) SendStream(ctx context.Context, payload []byte, n int) {
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for i := 0; i < n; i++ {
			if r.Send(payload) != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (r *RTP) read() {
	buf := make([]byte, 2048)
	for {
		n, err := r.conn.Read(buf)
		if err != nil {
			return
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(append([]byte(nil), buf[:n]...)) != nil {
			continue
		}
		select {
		case r.recv <- Received{Packet: pkt, At: time.Now()}:
		default: // a test that reads nothing must not block the socket
		}
	}
}

// Next returns the next packet received, waiting for it.
func (r *RTP) Next(ctx context.Context) (Received, error) {
	select {
	case p := <-r.recv:
		return p, nil
	case <-ctx.Done():
		return Received{}, fmt.Errorf("siptest: no RTP arrived: %w", ctx.Err())
	}
}

// Collect waits for n packets that match keep (nil keeps all).
func (r *RTP) Collect(ctx context.Context, n int, keep func(Received) bool) ([]Received, error) {
	var out []Received
	for len(out) < n {
		p, err := r.Next(ctx)
		if err != nil {
			return out, fmt.Errorf("got %d of %d packets: %w", len(out), n, err)
		}
		if keep == nil || keep(p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Drain throws away what has arrived so far.
func (r *RTP) Drain() {
	for {
		select {
		case <-r.recv:
		default:
			return
		}
	}
}

// Silent reports whether nothing arrives for d.
func (r *RTP) Silent(d time.Duration) bool {
	r.Drain()
	select {
	case <-r.recv:
		return false
	case <-time.After(d):
		return true
	}
}
