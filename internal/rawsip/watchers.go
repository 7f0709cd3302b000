package rawsip

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parkd/parkd/internal/kstamp"
)

// Watchers hold many BLF subscriptions on UDP sockets of their own and
// answer every NOTIFY 200 at once, as phones do. A NOTIFY counts as
// arrived when the kernel queued it on the socket (SO_TIMESTAMPNS), not
// when a reader got round to it.
type Watchers struct {
	server netip.AddrPort
	conns  []*net.UDPConn
	seed   maphash.Seed
	ok     atomic.Int64 // 200s to SUBSCRIBE
	failed atomic.Int64 // other final answers

	mu       sync.Mutex
	want     int  // NOTIFYs the awaited change must bring
	occupied bool // … whose body shows a dialog (true) or none
	got      int
	first    time.Time // the awaited change's earliest NOTIFY
	last     time.Time
	done     chan struct{}
	// perChange counts every NOTIFY of the awaited state, retransmissions
	// included; seen tells a retransmission (same Call-ID and CSeq).
	perChange   int
	retransmits int
	seen        map[uint64]bool
}

// Counts are the NOTIFYs of awaited states received so far, and how many
// NOTIFYs of any state arrived a second time.
func (w *Watchers) Counts() (notifies, retransmits int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.perChange, w.retransmits
}

// NewWatchers opens sockets UDP sockets on server's address, each with
// readBuffer bytes of receive buffer (0: the kernel's default).
func NewWatchers(server netip.AddrPort, sockets, readBuffer int) (*Watchers, error) {
	w := &Watchers{server: server, seed: maphash.MakeSeed(), seen: map[uint64]bool{}}
	for range sockets {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: server.Addr().AsSlice()})
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("watcher socket %d: %w", len(w.conns)+1, err)
		}
		if readBuffer > 0 {
			conn.SetReadBuffer(readBuffer)
		}
		if err := kstamp.Enable(conn); err != nil {
			conn.Close()
			w.Close()
			return nil, err
		}
		w.conns = append(w.conns, conn)
		go w.read(conn)
	}
	return w, nil
}

func (w *Watchers) Close() {
	for _, c := range w.conns {
		c.Close()
	}
}

// Subscribe sends n SUBSCRIBEs, spread over the sockets and over
// resources (the i-th to resources[i%len(resources)]), and
// waits until every one is answered; any answer but 2xx is an error.
func (w *Watchers) Subscribe(n int, resources []string, timeout time.Duration) error {
	// In flight at once: each SUBSCRIBE brings a 200 and a NOTIFY, and a
	// socket with the default buffer holds about a hundred datagrams.
	window := int64(min(100, 20*len(w.conns)))
	for i := range n {
		for int64(i)-w.ok.Load()-w.failed.Load() >= window {
			time.Sleep(time.Millisecond)
		}
		conn := w.conns[i%len(w.conns)]
		resource := resources[i%len(resources)]
		local := conn.LocalAddr().String()
		msg := fmt.Sprintf("SUBSCRIBE sip:%s@%s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-blfwatch-%d;rport\r\n"+
			"Max-Forwards: 70\r\nFrom: <sip:watch@%s>;tag=w%d\r\nTo: <sip:%s@%s>\r\n"+
			"Call-ID: blfwatch-%d@%s\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:watch@%s>\r\n"+
			"Event: dialog\r\nAccept: application/dialog-info+xml\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n",
			resource, w.server, local, i, local, i, resource, w.server, i, local, local)
		if _, err := conn.WriteToUDPAddrPort([]byte(msg), w.server); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(timeout)
	for w.ok.Load()+w.failed.Load() < int64(n) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d SUBSCRIBEs answered within %v", w.ok.Load()+w.failed.Load(), n, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if f := w.failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d SUBSCRIBEs refused", f, n)
	}
	return nil
}

// Expect arms the count of NOTIFYs the next change must deliver.
func (w *Watchers) Expect(n int, occupied bool) {
	w.mu.Lock()
	w.want, w.occupied, w.got, w.done, w.first, w.last = n, occupied, 0, make(chan struct{}), time.Time{}, time.Time{}
	w.mu.Unlock()
}

// Wait returns when the last awaited NOTIFY arrived, or an error after timeout.
func (w *Watchers) Wait(timeout time.Duration) (time.Time, error) {
	w.mu.Lock()
	done := w.done
	w.mu.Unlock()
	select {
	case <-done:
	case <-time.After(timeout):
		w.mu.Lock()
		defer w.mu.Unlock()
		return time.Time{}, fmt.Errorf("%d of %d NOTIFYs arrived within %v", w.got, w.want, timeout)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last, nil
}

// First is when the earliest NOTIFY of the awaited change arrived: after
// Wait, the time a server took to start its fan-out.
func (w *Watchers) First() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first
}

func (w *Watchers) read(conn *net.UDPConn) {
	buf := make([]byte, 64<<10)
	oob := make([]byte, kstamp.OOBSize)
	var reply []byte
	for {
		n, from, at, err := kstamp.Read(conn, buf, oob)
		if err != nil {
			return
		}
		msg := buf[:n]
		switch {
		case bytes.HasPrefix(msg, []byte("SIP/2.0 200")):
			w.ok.Add(1)
		case bytes.HasPrefix(msg, []byte("SIP/2.0 1")):
		case bytes.HasPrefix(msg, []byte("SIP/2.0 ")):
			w.failed.Add(1)
		case bytes.HasPrefix(msg, []byte("NOTIFY ")):
			reply = AppendOK(reply[:0], msg)
			conn.WriteToUDPAddrPort(reply, from)
			w.notified(at, bytes.Contains(msg, []byte("<dialog ")), Transaction(w.seed, msg))
		}
	}
}

func (w *Watchers) notified(at time.Time, occupied bool, tx uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen[tx] {
		w.retransmits++
		return
	}
	w.seen[tx] = true
	if w.done == nil || occupied != w.occupied {
		return
	}
	w.perChange++
	if w.got >= w.want {
		return
	}
	w.got++
	if at.After(w.last) { // sockets are read in no particular order
		w.last = at
	}
	if w.first.IsZero() || at.Before(w.first) {
		w.first = at
	}
	if w.got == w.want {
		close(w.done)
	}
}
