// Package interop runs sipp (Debian package sip-tester) scenarios and a
// real softphone (baresip, Debian package baresip-core) against a real
// parkd binary. sipp speaks the SIP; the SDP sipp sends points at UDP
// sockets of the test, which check the RTP parkd sends (music on hold, the
// relayed audio of a retrieve). Without sipp on PATH every test skips, and
// the softphone tests skip without baresip.
//
//	go test -race -count=1 ./interop/ -v
package interop

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sippRun is one sipp invocation of one call (-m 1).
type sippRun struct {
	scenario  string            // file name in scenarios/
	service   string            // -s: the Request-URI user (the extension dialled)
	transport string            // -t: "u1" (UDP, the default) or "t1" (TCP)
	hold      time.Duration     // -d: duration of the scenario's <pause/>
	keys      map[string]string // -key name value, e.g. rtp_sink
	timeout   time.Duration     // sipp -timeout, and the test's own limit (+10 s)
	dir       string            // sipp's logs go here (default: a new temp dir), for tests that read them while sipp runs
	remote    string            // host:port sipp sends to (default: the daemon's SIP address); sippAsUAS: none
	port      int               // -p: sipp's own SIP port (default: a free one)
}

// sippAsUAS as sippRun.remote runs sipp with no remote host: a UAS whose
// scenario starts with a recv, answering whoever sends to its port.
const sippAsUAS = "uas"

// sippResult is what one sipp run left behind.
type sippResult struct {
	name    string
	args    []string
	err     error // from exec: nil when sipp exited 0
	dir     string
	elapsed time.Duration
}

// runSipp runs sipp in the foreground against d and waits for it.
func runSipp(t *testing.T, d *daemon, name string, r sippRun) *sippResult {
	t.Helper()
	return prepareSipp(t, d, name, r)(context.Background())
}

// goSipp starts sipp in a goroutine; the result arrives on the channel.
// If the test ends first (it failed), sipp is killed and waited for.
func goSipp(t *testing.T, d *daemon, name string, r sippRun) <-chan *sippResult {
	t.Helper()
	run := prepareSipp(t, d, name, r)
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan *sippResult, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ch <- run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-finished })
	return ch
}

// prepareSipp picks sipp's ports and files (on the test goroutine, as it
// may fail the test) and returns the function that runs sipp; that one
// reports problems in its result only, so it may run on any goroutine.
func prepareSipp(t *testing.T, d *daemon, name string, r sippRun) func(context.Context) *sippResult {
	t.Helper()
	if r.transport == "" {
		r.transport = "u1"
	}
	if r.timeout == 0 {
		r.timeout = 20 * time.Second
	}
	scenario, err := filepath.Abs(filepath.Join("scenarios", r.scenario))
	if err != nil {
		t.Fatal(err)
	}
	if r.dir == "" {
		r.dir = filepath.Join(t.TempDir(), name)
	}
	if r.port == 0 {
		r.port = freeSIPPort(t)
	}
	res := &sippResult{name: name, dir: r.dir}
	if err := os.MkdirAll(res.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{
		"-sf", scenario,
		"-s", r.service,
		"-t", r.transport,
		"-i", "127.0.0.1",
		"-p", strconv.Itoa(r.port),
		"-mp", strconv.Itoa(freeMediaPort(t)),
		"-m", "1", "-l", "1",
		"-d", strconv.FormatInt(r.hold.Milliseconds(), 10),
		"-nostdin",
		"-timeout", fmt.Sprintf("%ds", int(r.timeout.Seconds())),
		"-timeout_error",
		"-trace_msg", "-message_file", filepath.Join(res.dir, "messages.log"),
		"-trace_err", "-error_file", filepath.Join(res.dir, "errors.log"),
		"-trace_logs", "-log_file", filepath.Join(res.dir, "actions.log"),
		"-trace_screen", "-screen_file", filepath.Join(res.dir, "screen.log"),
	}
	for k, v := range r.keys {
		args = append(args, "-key", k, v)
	}
	switch r.remote {
	case "":
		args = append(args, d.sipAddr())
	case sippAsUAS:
	default:
		args = append(args, r.remote)
	}
	res.args = args
	return func(ctx context.Context) *sippResult { return res.run(ctx, r.timeout+10*time.Second) }
}

func (r *sippResult) run(ctx context.Context, limit time.Duration) *sippResult {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, sippBin, r.args...)
	cmd.Dir = r.dir // sipp writes nothing else, but keep it out of the package directory
	stdout, err := os.Create(filepath.Join(r.dir, "stdout.log"))
	if err != nil {
		r.err = err
		return r
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(r.dir, "stderr.log"))
	if err != nil {
		r.err = err
		return r
	}
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	start := time.Now()
	r.err = cmd.Run()
	r.elapsed = time.Since(start)
	if ctx.Err() == context.DeadlineExceeded {
		r.err = fmt.Errorf("sipp killed after %s (its own -timeout did not end it): %w", limit, r.err)
	}
	return r
}

func (r *sippResult) file(name string) string {
	b, err := os.ReadFile(filepath.Join(r.dir, name))
	if err != nil {
		return ""
	}
	return string(b)
}

// report is everything needed to see why a run failed.
func (r *sippResult) report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "=== sipp %s: %v after %s\n    sipp %s\n", r.name, r.err, r.elapsed.Round(time.Millisecond), strings.Join(r.args, " "))
	for _, f := range []struct {
		file  string
		lines int
	}{{"stderr.log", 40}, {"errors.log", 60}, {"actions.log", 20}, {"screen.log", 40}, {"stdout.log", 40}, {"messages.log", 120}} {
		if s := strings.TrimSpace(r.file(f.file)); s != "" {
			fmt.Fprintf(&b, "--- sipp %s %s ---\n%s\n", r.name, f.file, tail(s, f.lines))
		}
	}
	return b.String()
}

// check fails the test unless sipp exited 0 (every call succeeded).
func (r *sippResult) check(t *testing.T, d *daemon) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("sipp %s failed (exit status 0 means every call succeeded):\n%s\n%s", r.name, r.report(), d.logTail(80))
	}
}

var parkdRTPLine = regexp.MustCompile(`parkd_rtp (\d+\.\d+\.\d+\.\d+):(\d+)`)

// answeredRTP is parkd's media address from the 200's SDP, which the
// scenarios log as "parkd_rtp IP:PORT".
func (r *sippResult) answeredRTP(t *testing.T) netip.AddrPort {
	t.Helper()
	m := parkdRTPLine.FindStringSubmatch(r.file("actions.log"))
	if m == nil {
		t.Fatalf("sipp %s logged no parkd_rtp line:\n%s", r.name, r.report())
	}
	ap, err := netip.ParseAddrPort(m[1] + ":" + m[2])
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// TestParkHearsMusicOnHold: a sipp UAC calls 700 with a PCMU offer, is
// answered 200 with SDP and, while parked, the RTP parkd sends for it (to
// the test's socket named in the offer) is music on hold: PCMU frames of
// 20 ms from the address of the SDP answer, one stream. After sipp's BYE the
// music stops.
func TestParkHearsMusicOnHold(t *testing.T) {
	for _, transport := range []string{"u1", "t1"} {
		name := map[string]string{"u1": "udp", "t1": "tcp"}[transport]
		t.Run(name, func(t *testing.T) {
			d := startDaemon(t)
			sink := newRTPSink(t, 0x1111)
			const hold = 2500 * time.Millisecond
			done := goSipp(t, d, "park", sippRun{
				scenario: "park_uac.xml", service: "700", transport: transport, hold: hold,
				keys: map[string]string{"rtp_sink": strconv.Itoa(sink.port())},
			})
			var got []rtpPacket
			var res *sippResult
			for res == nil {
				select {
				case res = <-done:
				case p := <-sink.packets:
					got = append(got, p)
				}
			}
			res.check(t, d)
			answered := res.answeredRTP(t)

			// The music of one stream, from the SDP answer's address.
			var moh []rtpPacket
			for _, p := range got {
				if !isPCMUFrame(p) {
					t.Fatalf("parked call got a packet that is not a 20 ms PCMU frame: v=%d pt=%d payload=%d bytes", p.version, p.pt, len(p.payload))
				}
				if p.from != answered {
					t.Fatalf("RTP came from %s, but the 200's SDP said %s (RTP must be symmetric)", p.from, answered)
				}
				if len(moh) > 0 && p.ssrc != moh[0].ssrc {
					t.Fatalf("two RTP streams (SSRC %#x and %#x) reached one parked call", moh[0].ssrc, p.ssrc)
				}
				moh = append(moh, p)
			}
			if len(moh) < 25 {
				t.Fatalf("parked for %s but got only %d RTP packets (want >= 25 of the ~%d a 20 ms stream sends)\n%s\n%s",
					hold, len(moh), hold/(20*time.Millisecond), res.report(), d.logTail(40))
			}
			span := moh[len(moh)-1].at.Sub(moh[0].at)
			if limit := int(span/(20*time.Millisecond))*3/2 + 10; len(moh) > limit {
				t.Errorf("%d packets in %s is far more than one 20 ms stream sends", len(moh), span)
			}
			audible := false
			for i, p := range moh {
				if i > 0 {
					if p.seq != moh[i-1].seq+1 && p.seq != moh[i-1].seq+2 { // a lost packet on loopback is rare
						t.Errorf("RTP sequence jumps from %d to %d", moh[i-1].seq, p.seq)
					}
					if dt := p.ts - moh[i-1].ts; dt%160 != 0 || dt == 0 {
						t.Errorf("RTP timestamp steps by %d, want a multiple of 160 (20 ms at 8 kHz)", dt)
					}
				}
				for _, b := range p.payload {
					if b != 0xff && b != 0x7f { // µ-law silence
						audible = true
					}
				}
			}
			if !audible {
				t.Error("music on hold is all µ-law silence")
			}
			t.Logf("parked %s: %d MOH packets over %s from %s, SSRC %#x", hold, len(moh), span.Round(time.Millisecond), answered, moh[0].ssrc)

			// After the BYE, nothing more is sent.
			time.Sleep(200 * time.Millisecond)
			sink.drain()
			if late := sink.collect(500 * time.Millisecond); len(late) > 0 {
				t.Errorf("%d RTP packets still arrived more than 200 ms after the BYE was answered", len(late))
			}
		})
	}
}

// TestRetrieve: a first sipp caller parks (slot 701, the first free slot)
// and stays until parkd hangs it up; a second sipp caller dials the slot
// (or the lot's retrieve extension *700) and is answered 200 with SDP. The
// test proves the bridge with RTP: packets it sends from the parked leg's
// socket to parkd reach the retriever's socket, and packets it sends from
// the retriever's socket reach the parked leg's socket, which hears no more
// music. When the retriever hangs up, parkd sends BYE to the parked caller,
// which answers 200; both sipp runs must succeed. Afterwards slot 701 is
// free again: dialling it parks a new call.
func TestRetrieve(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dial       string // what the retriever dials
		parkedOver string // sipp transport of the parked leg
	}{
		{"slot-udp", "701", "u1"},
		{"retrieve-extension-udp", "*700", "u1"},
		{"slot-parked-over-tcp", "701", "t1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDaemon(t)
			parkedSink := newRTPSink(t, 0xAAAA)
			retrSink := newRTPSink(t, 0xBBBB)
			parkedDone := goSipp(t, d, "parked", sippRun{
				scenario: "parked_until_bye.xml", service: "700", transport: tc.parkedOver,
				keys: map[string]string{"rtp_sink": strconv.Itoa(parkedSink.port())}, timeout: 30 * time.Second,
			})
			var parkedRes *sippResult
			parkedFailed := func() {
				t.Helper()
				select {
				case parkedRes = <-parkedDone:
					t.Fatalf("the parked sipp call ended early:\n%s\n%s", parkedRes.report(), d.logTail(60))
				default:
				}
			}

			// 1. Parked: music arrives; its source is parkd's port for the call.
			var parkdA netip.AddrPort
			for n := 0; n < 10; {
				p, ok := parkedSink.next(10 * time.Second)
				if !ok {
					parkedFailed()
					t.Fatalf("parked call heard no music (%d packets in 10 s)\n%s", n, d.logTail(60))
				}
				if isPCMUFrame(p) {
					parkdA = p.from
					n++
				}
			}

			// 2. Retrieve.
			const retrHold = 4 * time.Second
			retrDone := goSipp(t, d, "retriever", sippRun{
				scenario: "park_uac.xml", service: tc.dial, hold: retrHold,
				keys: map[string]string{"rtp_sink": strconv.Itoa(retrSink.port())},
			})
			var retrRes *sippResult

			// 3. Parked → retriever: send a pattern from the parked leg until
			// the retriever's socket hears it.
			patA, patB := filled(0xA5), filled(0x5A)
			var parkdB netip.AddrPort
			deadline := time.Now().Add(8 * time.Second)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
		waitRelay:
			for {
				if time.Now().After(deadline) {
					t.Fatalf("audio sent by the parked caller never reached the retriever\n%s", d.logTail(60))
				}
				select {
				case retrRes = <-retrDone:
					t.Fatalf("the retriever's sipp call ended before any audio was relayed:\n%s\n%s", retrRes.report(), d.logTail(60))
				case <-tick.C:
					if err := parkedSink.send(parkdA, patA); err != nil {
						t.Fatal(err)
					}
				case p := <-retrSink.packets:
					if !isPCMUFrame(p) || string(p.payload) != string(patA) {
						t.Fatalf("the retriever got RTP other than the parked caller's audio (pt %d, %d bytes, payload starts %x): music on hold leaked to it?",
							p.pt, len(p.payload), p.payload[:min(len(p.payload), 4)])
					}
					parkdB = p.from
					break waitRelay
				}
			}
			tick.Stop()
			parkedFailed()

			// 4. Retriever → parked, and no music on the parked leg any more.
			time.Sleep(100 * time.Millisecond)
			parkedSink.drain()
			retrSink.drain() // the tail of stage 3
			const frames = 50
			for i := 0; i < frames; i++ {
				if err := retrSink.send(parkdB, patB); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			got := parkedSink.collect(300 * time.Millisecond)
			relayed, other := 0, 0
			for _, p := range got {
				if isPCMUFrame(p) && string(p.payload) == string(patB) && p.from == parkdA {
					relayed++
				} else {
					other++
				}
			}
			if relayed < frames*8/10 || other > 0 {
				t.Fatalf("after the retrieve the parked caller got %d of the retriever's %d packets and %d other packets (music on hold must stop)\n%s",
					relayed, frames, other, d.logTail(60))
			}
			if n := len(retrSink.collect(0)); n > 0 {
				t.Errorf("the retriever got %d packets while only it was talking (echo?)", n)
			}
			t.Logf("bridged: parked leg via parkd %s, retriever via parkd %s; %d/%d packets relayed retriever→parked", parkdA, parkdB, relayed, frames)

			// 5. The retriever hangs up; parkd hangs up the parked caller.
			if retrRes == nil {
				retrRes = <-retrDone
			}
			retrRes.check(t, d)
			if got := retrRes.answeredRTP(t); got != parkdB {
				t.Errorf("the retriever's 200 announced RTP at %s but parkd sent from %s", got, parkdB)
			}
			parkedRes = <-parkedDone
			parkedRes.check(t, d)
			if got := parkedRes.answeredRTP(t); got != parkdA {
				t.Errorf("the parked call's 200 announced RTP at %s but parkd sent from %s", got, parkdA)
			}
			if !strings.Contains(parkedRes.file("actions.log"), "bye_from_parkd") {
				t.Errorf("the parked sipp call ended without parkd's BYE:\n%s", parkedRes.report())
			}

			// 6. Slot 701 is free again: dialling it parks (auto).
			again := runSipp(t, d, "park-701-again", sippRun{
				scenario: "park_uac.xml", service: "701", hold: 300 * time.Millisecond,
				keys: map[string]string{"rtp_sink": strconv.Itoa(retrSink.port())},
			})
			again.check(t, d)
		})
	}
}

// TestRejects: INVITEs parkd must refuse, each ACKed by sipp in the INVITE
// transaction (a retransmitted final response would fail the call), and
// OPTIONS.
func TestRejects(t *testing.T) {
	d := startDaemon(t)
	sink := newRTPSink(t, 0x2222)
	for _, tc := range []struct {
		name, scenario, service string
	}{
		{"g722-only-is-488", "no_common_codec.xml", "700"},
		{"unknown-extension-is-404", "unknown_extension.xml", "555"},
		{"empty-lot-retrieve-extension-is-404", "unknown_extension.xml", "*700"},
		{"options-is-200", "options.xml", "700"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runSipp(t, d, tc.name, sippRun{
				scenario: tc.scenario, service: tc.service,
				keys: map[string]string{"rtp_sink": strconv.Itoa(sink.port())},
			})
			res.check(t, d)
		})
	}
	if n := len(sink.collect(100 * time.Millisecond)); n > 0 {
		t.Errorf("a refused call got %d RTP packets", n)
	}
}
