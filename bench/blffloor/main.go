// Command blffloor is the kernel's floor for BLF fan-out: the least any
// server must do to tell a thousand watchers over UDP that a slot
// changed. It stands in for parkd under bench/blfwatch (FLOOR=1
// bench/blfwatch.sh): it answers the watchers' SUBSCRIBEs and the
// caller's INVITE and BYE with 200s (ACKs need nothing), and on each park
// and hang-up writes one NOTIFY per subscription, of the size and shape
// parkd's are, with parkd's sendmmsg batches of 64 (internal/mmsg), then
// reads the watchers' 200s with recvmmsg. It keeps no transactions,
// retransmits nothing, renders the body once per change and parses no
// more than it must, so what blfwatch measures against it is what the
// kernel's loopback costs on this machine: parkd's last-NOTIFY times
// divided by these are the BLF fan-out's ratio to the floor.
//
//	go run ./bench/blffloor -listen 127.0.0.1:25070
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/parkd/parkd/internal/mmsg"
	"github.com/parkd/parkd/internal/rawsip"
	"github.com/parkd/parkd/sipcore/presence"
	"golang.org/x/net/ipv4"
)

// batchSize is parkd's notifyBatchSize: the floor pays the same number of
// system calls per fan-out.
const batchSize = 64

// readBuffer is parkd's SIP socket receive buffer: a thousand 200s arrive
// while a fan-out is still being written.
const readBuffer = 4 << 20

func main() {
	listen := flag.String("listen", "127.0.0.1:25070", "the UDP address blfwatch sends to")
	flag.Parse()
	addr, err := netip.ParseAddrPort(*listen)
	if err != nil {
		fail(fmt.Errorf("-listen: %w", err))
	}
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		fail(err)
	}
	conn.SetReadBuffer(readBuffer)
	f := newFloor(conn)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-stop
		conn.Close()
	}()
	if err := f.serve(); err != nil && !errors.Is(err, net.ErrClosed) {
		fail(err)
	}
	log.Printf("blffloor: %d subscriptions, %d changes, %d NOTIFYs written, %d responses read",
		len(f.subs), f.changes, f.written, f.responses)
}

// subscription is what a NOTIFY to one watcher needs from its SUBSCRIBE.
type subscription struct {
	addr    net.Addr
	callID  []byte
	from    []byte // the watcher's From value, the NOTIFY's To
	to      []byte // the SUBSCRIBE's To URI, the NOTIFY's From
	contact []byte // the watcher's Contact URI, the NOTIFY's target
	cseq    int
}

type floor struct {
	conn      *net.UDPConn
	pc        *ipv4.PacketConn // recvmmsg
	batch     mmsg.Writer      // sendmmsg, as parkd's (a raw system call on Linux)
	local     string
	subs      []subscription
	known     map[string]bool // SUBSCRIBE Call-IDs seen: a retransmission is answered, not added
	parked    string          // the Call-ID of the call in the slot, "" when empty
	changes   int
	written   int
	responses int
	reply     []byte
	notifies  [][]byte
	msgs      []ipv4.Message
}

func newFloor(conn *net.UDPConn) *floor {
	return &floor{conn: conn, pc: ipv4.NewPacketConn(conn), batch: mmsg.NewWriter(conn), local: conn.LocalAddr().String(), known: map[string]bool{}}
}

func (f *floor) serve() error {
	in := make([]ipv4.Message, batchSize)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, 64<<10)}
	}
	for {
		n, err := f.pc.ReadBatch(in, 0)
		if err != nil {
			return err
		}
		for _, m := range in[:n] {
			if err := f.handle(m.Buffers[0][:m.N], m.Addr); err != nil {
				return err
			}
		}
	}
}

func (f *floor) handle(msg []byte, from net.Addr) error {
	switch {
	case bytes.HasPrefix(msg, []byte("SIP/2.0 ")):
		f.responses++ // a watcher's 200: nothing waits for it
		return nil
	case bytes.HasPrefix(msg, []byte("SUBSCRIBE ")):
		callID := header(msg, "call-id", "i")
		if !f.known[string(callID)] {
			f.known[string(callID)] = true
			f.subs = append(f.subs, subscription{addr: from, callID: bytes.Clone(callID),
				from: bytes.Clone(header(msg, "from", "f")), to: bytes.Clone(uri(header(msg, "to", "t"))),
				contact: bytes.Clone(uri(header(msg, "contact", "m")))})
		}
		return f.answer(msg, from, "Expires: 3600\r\n", "")
	case bytes.HasPrefix(msg, []byte("INVITE ")):
		sdp := "v=0\r\no=floor 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
			"m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
		if err := f.answer(msg, from, "Content-Type: application/sdp\r\n", sdp); err != nil {
			return err
		}
		if callID := string(header(msg, "call-id", "i")); callID != f.parked {
			f.parked = callID
			return f.fanOut(true)
		}
		return nil
	case bytes.HasPrefix(msg, []byte("BYE ")):
		if err := f.answer(msg, from, "", ""); err != nil {
			return err
		}
		if callID := string(header(msg, "call-id", "i")); callID == f.parked {
			f.parked = ""
			return f.fanOut(false)
		}
		return nil
	}
	return nil // ACKs, and anything else, need nothing
}

// answer writes a 200 to req with a To tag, extra header lines and body.
func (f *floor) answer(req []byte, to net.Addr, extra, body string) error {
	b := rawsip.AppendAnswer(f.reply[:0], req, "floor", "Contact: <sip:floor@"+f.local+">\r\n"+extra, body)
	f.reply = b
	_, err := f.conn.WriteTo(b, to)
	return err
}

// fanOut writes every subscription its NOTIFY for the slot's new state.
func (f *floor) fanOut(occupied bool) error {
	f.changes++
	body := f.body(occupied)
	for len(f.notifies) < len(f.subs) {
		f.notifies = append(f.notifies, make([]byte, 0, 1500))
	}
	f.msgs = f.msgs[:0]
	for i := range f.subs {
		s := &f.subs[i]
		s.cseq++
		f.notifies[i] = f.notify(f.notifies[i][:0], s, i, body)
		f.msgs = append(f.msgs, ipv4.Message{Buffers: [][]byte{f.notifies[i]}, Addr: s.addr})
	}
	for done := 0; done < len(f.msgs); {
		n, err := f.batch.WriteBatch(f.msgs[done:min(done+batchSize, len(f.msgs))], 0)
		if err != nil {
			return fmt.Errorf("sendmmsg: %w", err)
		}
		done += n
		f.written += n
	}
	return nil
}

// body is the dialog-info document parkd sends for slot 701: with the
// parked call's dialog, or empty.
func (f *floor) body(occupied bool) []byte {
	var dialogs []presence.Dialog
	if occupied {
		dialogs = []presence.Dialog{{ID: "701-" + f.parked, CallID: f.parked, LocalTag: "floor", RemoteTag: "caller",
			Direction: "recipient", State: "confirmed",
			Local:  &presence.Identity{Display: "Park 701", URI: "sip:701@127.0.0.1"},
			Remote: &presence.Identity{Display: "blfwatch", URI: "sip:caller@127.0.0.1"}}}
	}
	return presence.DialogInfoBody("sip:701@127.0.0.1", dialogs).Bytes(uint32(f.changes))
}

func (f *floor) notify(b []byte, s *subscription, i int, body []byte) []byte {
	b = append(b, "NOTIFY "...)
	b = append(b, s.contact...)
	b = append(b, " SIP/2.0\r\nVia: SIP/2.0/UDP "+f.local+";rport;branch=z9hG4bK.floor"...)
	b = strconv.AppendInt(b, int64(f.changes), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, "\r\nFrom: <"...)
	b = append(b, s.to...)
	b = append(b, ">;tag=floor\r\nTo: "...)
	b = append(b, s.from...)
	b = append(b, "\r\nCall-ID: "...)
	b = append(b, s.callID...)
	b = append(b, "\r\nContact: <sip:floor@"+f.local+">\r\nEvent: dialog\r\nMax-Forwards: 70\r\n"+
		"Content-Type: application/dialog-info+xml\r\nCSeq: "...)
	b = strconv.AppendInt(b, int64(s.cseq), 10)
	b = append(b, " NOTIFY\r\nSubscription-State: active;expires=3600\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}

// header is the value of the first header line named name or its compact
// form, trimmed; nil when there is none.
func header(msg []byte, name, compact string) []byte {
	for line := range rawsip.HeaderLines(msg) {
		if n := rawsip.HeaderName(line); n == name || n == compact {
			_, v, _ := bytes.Cut(line, []byte(":"))
			return bytes.TrimSpace(v)
		}
	}
	return nil
}

// uri is the URI inside a header value's angle brackets, or the value.
func uri(v []byte) []byte {
	if _, rest, ok := bytes.Cut(v, []byte("<")); ok {
		v, _, _ = bytes.Cut(rest, []byte(">"))
	}
	return v
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/blffloor:", err)
	os.Exit(2)
}
