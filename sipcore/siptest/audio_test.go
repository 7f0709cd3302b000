package siptest

import (
	"context"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/parkd/parkd/sipcore/media"
	"github.com/parkd/parkd/sipcore/media/prompts"
)

// g711Packets is n 20 ms packets of a 1 kHz tone at amp (0: silence).
func g711Packets(pt uint8, encode func(int16) byte, n int, amp float64) []Received {
	var out []Received
	for i := range n {
		payload := make([]byte, 160)
		for j := range payload {
			payload[j] = encode(int16(amp * math.Sin(2*math.Pi*1000*float64(i*160+j)/8000)))
		}
		out = append(out, Received{Packet: rtp.Packet{Header: rtp.Header{PayloadType: pt}, Payload: payload}})
	}
	return out
}

func TestAnalyse(t *testing.T) {
	tone := 8000 / math.Sqrt2 // RMS of a sine of amplitude 8000
	event := Received{Packet: rtp.Packet{Header: rtp.Header{PayloadType: 101}, Payload: []byte{11, 0x8a, 3, 32}}}
	empty := Received{Packet: rtp.Packet{Header: rtp.Header{PayloadType: 0}}}
	cases := []struct {
		name     string
		pkts     []Received
		codec    string
		packets  int
		duration time.Duration
		rms      float64 // 0: silence; else within 3%
		voiced   time.Duration
	}{
		{"PCMU silence", g711Packets(0, media.EncodeUlaw, 10, 0), "PCMU", 10, 200 * time.Millisecond, 0, 0},
		{"PCMA tone", g711Packets(8, media.EncodeAlaw, 10, 8000), "PCMA", 10, 200 * time.Millisecond, tone, 200 * time.Millisecond},
		{
			"half tone half silence, events and empty packets skipped",
			append(append(append(g711Packets(0, media.EncodeUlaw, 5, 8000), event, empty), g711Packets(0, media.EncodeUlaw, 5, 0)...), event),
			"PCMU", 10, 200 * time.Millisecond, tone / math.Sqrt2, 100 * time.Millisecond,
		},
		{"other law's packets skipped", g711Packets(8, media.EncodeAlaw, 4, 8000), "PCMU", 0, 0, 0, 0},
		{"quiet noise is not voiced", g711Packets(0, media.EncodeUlaw, 5, 200), "PCMU", 5, 100 * time.Millisecond, 200 / math.Sqrt2, 0},
		{"unknown codec", g711Packets(0, media.EncodeUlaw, 5, 8000), "G722", 0, 0, 0, 0},
	}
	for _, tc := range cases {
		a := Analyse(tc.pkts, tc.codec)
		if a.Packets != tc.packets || a.Duration != tc.duration || a.Voiced != tc.voiced {
			t.Errorf("%s: %+v, want %d packets, %v, voiced %v", tc.name, a, tc.packets, tc.duration, tc.voiced)
		}
		if tc.rms == 0 && a.RMS > 10 || tc.rms != 0 && math.Abs(a.RMS-tc.rms) > 0.03*tc.rms {
			t.Errorf("%s: RMS %.0f, want %.0f", tc.name, a.RMS, tc.rms)
		}
	}
	if db := (Audio{RMS: math.MaxInt16 / 10}).RMSdBFS(); math.Abs(db+20) > 0.01 {
		t.Errorf("RMSdBFS of a tenth of full scale = %.2f", db)
	}
}

// rtpPair is a siptest phone's RTP socket and a parkd-side media session
// pointed at each other, as after an answered call.
func rtpPair(t *testing.T, eventPT uint8) (*RTP, *media.Session) {
	t.Helper()
	alloc, err := media.NewAllocator(netip.MustParseAddr("127.0.0.1"), 44000, 44099)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(alloc.Close) // its kept sockets hold ports other tests use
	s, err := alloc.Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	r, err := newRTP("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	r.remote, r.audioPT, r.codec, r.eventPT = s.LocalAddr(), 0, "PCMU", eventPT
	s.SetRemote(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(r.Port())), media.Format{Codec: media.PCMU, EventPT: 101})
	s.Start(0, nil)
	return r, s
}

func TestSendDigitsIsDetected(t *testing.T) {
	t.Parallel()
	r, s := rtpPair(t, 101)
	digits := make(chan rune, 16)
	s.OnDTMF(func(d rune) { digits <- d })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()

	if err := r.SendDigits(ctx, "#7x"); err == nil || !strings.Contains(err.Error(), `'x'`) {
		t.Fatalf("bad key: err = %v", err)
	}
	start := time.Now()
	if err := r.SendDigits(ctx, "#72a"); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 4*100*time.Millisecond {
		t.Errorf("four key presses took %v: not paced like a phone", el)
	}
	var got []rune
	for len(got) < 4 {
		select {
		case d := <-digits:
			got = append(got, d)
		case <-time.After(time.Second):
			t.Fatalf("detected %q, want #72A", string(got))
		}
	}
	select {
	case d := <-digits:
		got = append(got, d)
	case <-time.After(100 * time.Millisecond):
	}
	if string(got) != "#72A" {
		t.Fatalf("detected %q, want #72A (the bad first call must send nothing)", string(got))
	}
	// An unbridged session is read by the quiet sweep, up to 100 ms late:
	// the last key's ends may still be queued when its digit is detected.
	const want = uint64(4 * 8)
	for deadline := time.Now().Add(2 * time.Second); s.PacketsReceived() < want && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if s.PacketsReceived() != want {
		t.Errorf("session got %d packets, want %d (5 updates and 3 ends per key)", s.PacketsReceived(), want)
	}

	r.eventPT = 0
	if err := r.SendDigits(ctx, "1"); err == nil {
		t.Fatal("SendDigits without telephone-event succeeded")
	}
}

// What a phone hears of a spoken prompt, measured with Analyse: as long as
// the clip, and sound rather than silence.
func TestAnalyseHeardPrompt(t *testing.T) {
	t.Parallel()
	r, s := rtpPair(t, 101)
	clip := prompts.Builtin().ParkedOn("703")
	finished := make(chan bool, 1)
	s.Play(clip, func(ok bool) { finished <- ok })
	frames := int(clip.Duration() / (20 * time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), clip.Duration()+3*time.Second)
	defer cancel()
	pkts, err := r.Collect(ctx, frames, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !<-finished {
		t.Fatal("prompt did not finish")
	}
	a := Analyse(pkts, r.Codec())
	t.Logf("heard %+v (%.1f dBFS)", a, a.RMSdBFS())
	if a.Packets != frames || a.Duration != clip.Duration() {
		t.Fatalf("heard %d packets, %v; the prompt is %d, %v", a.Packets, a.Duration, frames, clip.Duration())
	}
	if a.RMSdBFS() < -30 || a.Voiced < a.Duration/2 {
		t.Fatalf("the prompt sounds like silence: %+v", a)
	}
	if !r.Silent(100 * time.Millisecond) {
		t.Fatal("audio after the prompt")
	}
}
