package media

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// relayRig is a bridge whose A side is driven by calling handlePacket
// directly (no read goroutine), so a benchmark or alloc test measures the
// per-packet work: parse, latch check, PT map, transcode, header rewrite,
// sendto. B sends to a sink socket nobody reads; the kernel drops overflow.
type relayRig struct {
	a, b     *Session
	buf      []byte
	template []byte
	seq      uint16
	from     netip.AddrPort // phone A
}

func newRelayRig(tb testing.TB, fa, fb Format) (*relayRig, func()) {
	tb.Helper()
	alloc := newTestAllocator(tb)
	sa, sb := openSession(tb, alloc), openSession(tb, alloc)
	phoneA, sink := newPhone(tb), newPhone(tb)
	sa.SetRemote(phoneA.addr(), fa)
	sb.SetRemote(sink.addr(), fb)
	if err := Bridge(sa, sb); err != nil {
		tb.Fatal(err)
	}
	template, err := (&rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: fa.AudioPT, SSRC: 0x1234, SequenceNumber: 1, Timestamp: 160},
		Payload: audioPayload(1, fa.Codec),
	}).Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	r := &relayRig{a: sa, b: sb, buf: make([]byte, maxPacketLen), template: template, from: phoneA.addr()}
	step := func() { r.a.handlePacket(r.buf, r.next(r.buf), r.from) }
	step() // latches phone A's address: the one allocation, outside the measurement
	return r, step
}

// next writes the next packet from phone A into buf; its length.
func (r *relayRig) next(buf []byte) int {
	r.seq++
	n := copy(buf, r.template)
	binary.BigEndian.PutUint16(buf[2:], r.seq)
	binary.BigEndian.PutUint32(buf[4:], uint32(r.seq)*frameSamples)
	return n
}

// newMOHRig attaches n sessions to a source, sending to a few sink sockets
// nobody reads (the kernel drops the overflow). Several sinks, because in
// production every listener is a different phone: one shared sink would
// measure contention on its receive queue rather than our fan-out.
func newMOHRig(tb testing.TB, n int) *Source {
	tb.Helper()
	alloc := newTestAllocator(tb)
	sinks := make([]*phone, min(n, 16))
	for i := range sinks {
		sinks[i] = newPhone(tb)
	}
	src := newTestSource()
	for i := range n {
		s := openSession(tb, alloc)
		codec := PCMU
		if i%2 == 1 {
			codec = PCMA
		}
		s.SetRemote(sinks[i%len(sinks)].addr(), Format{Codec: codec, AudioPT: uint8(codec)})
		src.Add(s)
	}
	return src
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	rig, step := newRelayRig(t, Format{PCMU, 0, 101}, Format{PCMA, 8, 96})
	if n := testing.AllocsPerRun(500, step); n != 0 {
		t.Errorf("relay: %v allocs per packet", n)
	}
	if rig.b.PacketsSent() == 0 {
		t.Fatal("relay rig sent nothing")
	}
	// Relayed through a batch, as the pollers relay: two packets per
	// flush, so that they go through the ring where there is one.
	out := newSendBatch(testLogger(), maxPacketLen)
	defer out.close()
	batched := func() {
		for range 2 {
			buf := out.next()
			rig.a.receive(buf, rig.next(buf), rig.from, out, false)
		}
		out.flush()
	}
	sent := rig.b.PacketsSent()
	if n := testing.AllocsPerRun(500, batched); n != 0 {
		t.Errorf("relay through a send batch: %v allocs per two packets", n)
	}
	if rig.b.PacketsSent() == sent {
		t.Fatal("the batched relay sent nothing")
	}
	reject := rejectStep(rig)
	reject() // the first rejection of a session is logged, outside the measurement
	if n := testing.AllocsPerRun(500, reject); n != 0 {
		t.Errorf("rejecting a stranger's packet: %v allocs per packet", n)
	}

	src := newMOHRig(t, 300)
	pool := newFanoutPool(4, testLogger())
	defer pool.close()
	pool.minPart = 4 // 300 listeners are 30 per phase: still use the helpers
	src.tick(pool)   // sizes the snapshot slice
	if n := testing.AllocsPerRun(20, func() { src.tick(pool) }); n != 0 {
		t.Errorf("MOH tick (pooled, 300 listeners): %v allocs per tick", n)
	}
	if n := testing.AllocsPerRun(20, func() { src.tick(nil) }); n != 0 {
		t.Errorf("MOH tick (serial, 300 listeners): %v allocs per tick", n)
	}

	// A listener whose peer sends is latched and its socket connected.
	peer := newPhone(t)
	cr := newConnectRig(t, peer)
	cr.until("connected to the latched peer", func() { cr.talk(peer) }, cr.connected)
	if n := testing.AllocsPerRun(20, func() { cr.src.tick(nil) }); n != 0 {
		t.Errorf("MOH tick (connected socket): %v allocs per tick", n)
	}
	if !cr.connected() {
		t.Error("the socket was disconnected during the measurement")
	}
}

func BenchmarkRelay(b *testing.B) {
	cases := []struct {
		name   string
		fa, fb Format
	}{
		{"same-codec", Format{PCMU, 0, 101}, Format{PCMU, 0, 101}},
		{"transcode", Format{PCMU, 0, 101}, Format{PCMA, 8, 96}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			rig, step := newRelayRig(b, tc.fa, tc.fb)
			sent := rig.b.PacketsSent()
			b.ReportAllocs()
			for b.Loop() {
				step()
			}
			if rig.b.PacketsSent() == sent {
				b.Fatal("nothing was relayed")
			}
		})
	}
}

// rejectStep hands rig's A side one packet from an IP that may not send.
func rejectStep(r *relayRig) func() {
	stranger := netip.MustParseAddrPort("127.0.0.2:4000")
	return func() {
		n := copy(r.buf, r.template)
		if r.a.handlePacket(r.buf, n, stranger) {
			panic("a stranger's packet was taken")
		}
	}
}

// BenchmarkRejectStranger is what a flood from an intruder's IP costs per
// packet once it is read: the source check and a counter.
func BenchmarkRejectStranger(b *testing.B) {
	rig, _ := newRelayRig(b, Format{PCMU, 0, 101}, Format{PCMU, 0, 101})
	reject := rejectStep(rig)
	reject()
	b.ReportAllocs()
	for b.Loop() {
		reject()
	}
	if rig.a.PacketsRejected() == 0 {
		b.Fatal("nothing was rejected")
	}
}

func BenchmarkMOHTick(b *testing.B) {
	for _, n := range []int{1, 100, 5000} {
		b.Run(fmt.Sprintf("listeners=%d", n), func(b *testing.B) {
			var rl syscall.Rlimit
			if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < uint64(2*n+1000) {
				b.Skipf("needs %d open files (ulimit -n), have %d", 2*n+1000, rl.Cur)
			}
			src := newMOHRig(b, n)
			pool := newFanoutPool(runtime.GOMAXPROCS(0), testLogger())
			defer pool.close()
			src.tick(pool)
			b.ReportAllocs()
			cpu0 := processCPUTime()
			for b.Loop() {
				src.tick(pool)
			}
			// Wall time per tick is what must stay under 20 ms; CPU time
			// (user+sys, all threads) says what it would be on an idle box,
			// which a shared test machine often is not.
			perTick := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(perTick/1e6, "ms/tick")
			b.ReportMetric(float64(processCPUTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/tick")
			b.ReportMetric(perTick/float64(n), "ns/listener")
		})
	}
}

// processCPUTime is user+system CPU time of the whole process.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMOHTickLatched is MOH to listeners whose phones send RTP, as
// real phones do: each latched to its own sink socket, the session's
// socket connected to it (connected=true) or kept unconnected, sending
// with sendto (connected=false). One run gives the ratio of the two.
func BenchmarkMOHTickLatched(b *testing.B) {
	const n = 1000
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < uint64(2*n+1000) {
		b.Skipf("needs %d open files (ulimit -n), have %d", 2*n+1000, rl.Cur)
	}
	for _, connected := range []bool{false, true} {
		b.Run(fmt.Sprintf("connected=%v", connected), func(b *testing.B) {
			alloc := newTestAllocator(b)
			src := newTestSource()
			pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 7}, Payload: audioPayload(1, PCMU)}).Marshal()
			var sessions []*Session
			for range n {
				s, sink := openSession(b, alloc), newPhone(b)
				s.SetRemote(sink.addr(), Format{Codec: PCMU})
				s.connectFailed.Store(!connected)
				buf := append(make([]byte, 0, maxPacketLen), pkt...)
				s.handlePacket(buf, len(buf), sink.addr()) // latches, as the phone's first packet would
				src.Add(s)
				sessions = append(sessions, s)
			}
			src.tick(nil) // connects (or not)
			if got := sessions[0].peer.Load().connected; got != connected {
				b.Fatalf("connected = %v", got)
			}
			b.ReportAllocs()
			cpu0 := processCPUTime()
			for b.Loop() {
				now := monoNow() // the phones keep talking
				for _, s := range sessions {
					s.lastActivity.Store(now)
				}
				src.tick(nil)
			}
			b.ReportMetric(float64(processCPUTime()-cpu0)/float64(b.N*n), "cpu-ns/packet")
		})
	}
}
