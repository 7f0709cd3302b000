package sipcore

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

const framerOptions = "OPTIONS sip:701@127.0.0.1 SIP/2.0\r\n" +
	"Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK1\r\n" +
	"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:701@127.0.0.1>\r\n" +
	"Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"

// framed is a message with the given extra headers and body.
func framed(headers, body string) string {
	return framerOptions + headers + "\r\n" + body
}

// framerTrace feeds s one byte at a time and returns the offsets at which
// messages began (their first byte) and ended (just past their last).
func framerTrace(t *testing.T, s string) (starts, ends []int, err error) {
	t.Helper()
	var f sipFramer
	for i := 0; i < len(s); i++ {
		was := f.inMessage()
		started, err := f.feed([]byte{s[i]})
		if err != nil {
			return starts, ends, err
		}
		if started {
			starts = append(starts, i)
		}
		if was && !f.inMessage() {
			ends = append(ends, i+1)
		}
		if !was && !started && f.inMessage() {
			t.Fatalf("byte %d began a message without saying so", i)
		}
		if !was && !f.inMessage() && !started && s[i] != '\r' && s[i] != '\n' {
			// A one-byte message cannot end with its own first byte.
			t.Fatalf("byte %d %q between messages started nothing", i, s[i])
		}
	}
	return starts, ends, nil
}

func TestSIPFramer(t *testing.T) {
	opt := framed("Content-Length: 0\r\n", "")
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
	withBody := framed("Content-Type: application/sdp\r\nContent-Length: "+strconv.Itoa(len(sdp))+"\r\n", sdp)
	compact := framed("l:5\r\n", "hello")
	pad := "X-Pad: " + strings.Repeat("a", 1000) + "\r\n"
	big := strings.Repeat(pad, 70)

	cases := []struct {
		name   string
		in     string
		starts []int
		ends   []int
		err    error
	}{
		{name: "OPTIONS, no body", in: opt, starts: []int{0}, ends: []int{len(opt)}},
		{name: "body by Content-Length", in: withBody, starts: []int{0}, ends: []int{len(withBody)}},
		{name: "compact l:", in: compact, starts: []int{0}, ends: []int{len(compact)}},
		{name: "upper case, spaces before the colon", in: framed("CONTENT-LENGTH : 3\r\n", "abc"),
			starts: []int{0}, ends: []int{len(framed("CONTENT-LENGTH : 3\r\n", "abc"))}},
		{name: "folded value", in: framed("Content-Length:\r\n  4\r\n", "abcd"),
			starts: []int{0}, ends: []int{len(framed("Content-Length:\r\n  4\r\n", "abcd"))}},
		{name: "the last Content-Length counts", in: framed("Content-Length: 9\r\nContent-Length: 2\r\n", "ab"),
			starts: []int{0}, ends: []int{len(framed("Content-Length: 9\r\nContent-Length: 2\r\n", "ab"))}},
		{name: "a header that only ends in Content-Length", in: framed("X-Content-Length: 7\r\nl: 1\r\n", "z"),
			starts: []int{0}, ends: []int{len(framed("X-Content-Length: 7\r\nl: 1\r\n", "z"))}},
		{name: "no Content-Length ends at the headers", in: framed("", ""), starts: []int{0}, ends: []int{len(framed("", ""))}},
		{name: "keep-alive ping alone", in: "\r\n\r\n"},
		{name: "keep-alive pong alone", in: "\r\n"},
		{name: "keep-alives around messages", in: "\r\n\r\n" + opt + "\r\n" + opt + "\r\n\r\n",
			starts: []int{4, 4 + len(opt) + 2}, ends: []int{4 + len(opt), 4 + 2*len(opt) + 2}},
		{name: "pipelined", in: opt + compact, starts: []int{0, len(opt)}, ends: []int{len(opt), len(opt) + len(compact)}},
		{name: "CRLFs in a body are body", in: framed("Content-Length: 4\r\n", "\r\n\r\n"),
			starts: []int{0}, ends: []int{len(framed("Content-Length: 4\r\n", "\r\n\r\n"))}},
		{name: "incomplete body", in: framed("Content-Length: 10\r\n", "abc"), starts: []int{0}},
		{name: "incomplete headers", in: framerOptions, starts: []int{0}},
		{name: "headers over 63 KiB", in: framerOptions + big, starts: []int{0}, err: errTCPHeadersTooLong},
		{name: "a line over 63 KiB", in: "INVITE sip:" + strings.Repeat("7", 70000), starts: []int{0}, err: errTCPHeadersTooLong},
		{name: "Content-Length over 63 KiB", in: framed("Content-Length: 70000\r\n", ""), starts: []int{0}, err: errTCPBodyTooLong},
		{name: "headers and body together over 63 KiB", in: framed(strings.Repeat(pad, 40)+"Content-Length: 30000\r\n", ""), starts: []int{0}, err: errTCPBodyTooLong},
		{name: "Content-Length that overflows", in: framed("Content-Length: 99999999999999999999999\r\n", ""), starts: []int{0}, err: errTCPBodyTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			starts, ends, err := framerTrace(t, tc.in)
			if err != tc.err {
				t.Fatalf("byte by byte: error %v, want %v", err, tc.err)
			}
			if !slices.Equal(starts, tc.starts) || !slices.Equal(ends, tc.ends) {
				t.Fatalf("byte by byte: starts %v ends %v, want %v %v", starts, ends, tc.starts, tc.ends)
			}
			// Whole, and split in two at every byte: the same outcome, and
			// the first half says whether a message is under way at the split.
			step := 1
			if len(tc.in) > 8192 {
				step = 997 // the oversized ones: every byte would cost seconds
			}
			for k := 0; k <= len(tc.in); k += step {
				var f sipFramer
				_, err1 := f.feed([]byte(tc.in[:k]))
				mid := f.inMessage()
				var err2 error
				if err1 == nil {
					_, err2 = f.feed([]byte(tc.in[k:]))
				}
				if got := firstErr(err1, err2); got != tc.err {
					t.Fatalf("split at %d: error %v, want %v", k, got, tc.err)
				}
				if tc.err != nil {
					continue
				}
				if want := underway(starts, ends, k); mid != want {
					t.Fatalf("split at %d: in a message %v, want %v", k, mid, want)
				}
				if want := len(starts) > len(ends); f.inMessage() != want {
					t.Fatalf("split at %d: in a message at the end %v, want %v", k, f.inMessage(), want)
				}
			}
		})
	}
}

// TestSIPFramerAgreesWithSipgo: where sipgo's stream parser finds whole
// messages, the framer ends as many, so it times what sipgo waits for.
func TestSIPFramerAgreesWithSipgo(t *testing.T) {
	sdp := "v=0\r\n"
	streams := []string{
		framed("Content-Length: 0\r\n", ""),
		"\r\n\r\n" + framed("l: 5\r\n", sdp) + framed("Content-Length:  0\r\n", ""),
		framed("Content-Length:\r\n 5\r\n", sdp),
		framed("X-Content-Length: 1\r\ncontent-length: 5\r\n", sdp),
	}
	for _, s := range streams {
		msgs := 0
		par := sip.NewParser().NewSIPStream()
		if err := par.ParseSIPStream([]byte(s), func(sip.Message) { msgs++ }); err != nil {
			t.Fatalf("sipgo: %v in %q", err, s)
		}
		_, ends, err := framerTrace(t, s)
		if err != nil || len(ends) != msgs || ends[len(ends)-1] != len(s) {
			t.Errorf("framer ends %v (%v), sipgo parsed %d messages of %q", ends, err, msgs, s)
		}
	}
}

// FuzzSIPFramer: however the stream is cut into reads, the framer reaches
// the same state, and it never panics.
func FuzzSIPFramer(f *testing.F) {
	f.Add([]byte(framed("Content-Length: 3\r\n", "abc")), uint16(10))
	f.Add([]byte("\r\n\r\n"+framed("l:0\r\n", "")), uint16(3))
	f.Add([]byte(framed("Content-Length:\r\n 2\r\n", "ab")), uint16(99))
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		k := int(cut) % (len(in) + 1)
		var whole, split sipFramer
		_, errWhole := whole.feed(in)
		_, err1 := split.feed(in[:k])
		err2 := err1
		if err1 == nil {
			_, err2 = split.feed(in[k:])
		}
		if (errWhole == nil) != (err2 == nil) {
			t.Fatalf("whole: %v, split at %d: %v", errWhole, k, err2)
		}
		if errWhole == nil && whole != split {
			t.Fatalf("whole: %+v, split at %d: %+v", whole, k, split)
		}
	})
}

func underway(starts, ends []int, k int) bool {
	for i, s := range starts {
		if s < k && (i >= len(ends) || ends[i] > k) {
			return true
		}
	}
	return false
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkSIPFramer is the framer's cost per TCP read of a typical INVITE
// with SDP, in one read and in reads of 100 bytes.
func BenchmarkSIPFramer(b *testing.B) {
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n"
	msg := []byte("INVITE sip:700@127.0.0.1:5060;transport=tcp SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK776asdhds;rport\r\n" +
		"Max-Forwards: 70\r\nTo: <sip:700@127.0.0.1>\r\n" +
		"From: \"Alice\" <sip:alice@127.0.0.1>;tag=1928301774\r\n" +
		"Call-ID: a84b4c76e66710@pc33.example.com\r\nCSeq: 314159 INVITE\r\n" +
		"Contact: <sip:alice@127.0.0.1:5070;transport=tcp>\r\n" +
		"Referred-By: <sip:bob@127.0.0.1>\r\nUser-Agent: bench\r\n" +
		"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, SUBSCRIBE\r\n" +
		"Content-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(sdp)) + "\r\n\r\n" + sdp)
	for _, chunk := range []int{len(msg), 100} {
		b.Run(fmt.Sprintf("read=%d", chunk), func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			var f sipFramer
			for b.Loop() {
				for i := 0; i < len(msg); i += chunk {
					f.feed(msg[i:min(i+chunk, len(msg))])
				}
				if f.inMessage() {
					b.Fatal("message not ended")
				}
			}
		})
	}
}

// The framer spells a request line's version in upper case in the bytes
// sipgo then parses, as the UDP read filter does; a response, and a
// request line split across reads, are left as they came.
func TestSIPFramerSpellsTheVersion(t *testing.T) {
	cases := []struct {
		name  string
		reads []string
		want  string
	}{
		{"lower case", []string{"INVITE sip:a@b sip/2.0\r\nl:0\r\n\r\n"}, "INVITE sip:a@b SIP/2.0\r\nl:0\r\n\r\n"},
		{"two messages in one read", []string{"OPTIONS sip:a@b Sip/2.0\r\nl:0\r\n\r\nBYE sip:a@b sip/2.0\r\nl:0\r\n\r\n"},
			"OPTIONS sip:a@b SIP/2.0\r\nl:0\r\n\r\nBYE sip:a@b SIP/2.0\r\nl:0\r\n\r\n"},
		{"already upper case", []string{"INVITE sip:a@b SIP/2.0\r\nl:0\r\n\r\n"}, "INVITE sip:a@b SIP/2.0\r\nl:0\r\n\r\n"},
		{"a response", []string{"sip/2.0 200 sip/2.0\r\nl:0\r\n\r\n"}, "sip/2.0 200 sip/2.0\r\nl:0\r\n\r\n"},
		{"start line split across reads", []string{"INVITE sip:a@b si", "p/2.0\r\nl:0\r\n\r\n"}, "INVITE sip:a@b sip/2.0\r\nl:0\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f sipFramer
			var got []byte
			for _, r := range tc.reads {
				b := []byte(r)
				if _, err := f.feed(b); err != nil {
					t.Fatal(err)
				}
				got = append(got, b...)
			}
			if string(got) != tc.want {
				t.Errorf("sipgo would parse %q, want %q", got, tc.want)
			}
		})
	}
}
