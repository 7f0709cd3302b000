package main

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

const (
	resp200 = "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.2:5060\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	notify  = "NOTIFY sip:a@127.0.0.2 SIP/2.0\r\nCSeq: 2 NOTIFY\r\nl: 5\r\n\r\nhello"
)

func TestFramer(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []string // classify of each message framed
		broken bool
	}{
		{"one message", []string{resp200}, []string{"2xx"}, false},
		{"two in one read", []string{resp200 + notify}, []string{"2xx", "NOTIFY"}, false},
		{"split everywhere", strings.Split(resp200+notify, ""), []string{"2xx", "NOTIFY"}, false},
		{"keep-alives between", []string{"\r\n\r\n", resp200, "\r\n", notify}, []string{"2xx", "NOTIFY"}, false},
		{"body not complete yet", []string{notify[:len(notify)-2]}, nil, false},
		{"no Content-Length", []string{"SIP/2.0 200 OK\r\nCSeq: 1 BYE\r\n\r\n" + resp200}, nil, true},
		{"absurd Content-Length", []string{"SIP/2.0 200 OK\r\nContent-Length: 99999999999\r\n\r\n"}, nil, true},
		{"negative Content-Length", []string{"SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n"}, nil, true},
		{"endless head", []string{"SIP/2.0 200 OK\r\n", strings.Repeat("X-A: b\r\n", maxFrame/8+1)}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f framer
			var got []string
			for _, c := range tc.chunks {
				for _, m := range f.feed([]byte(c)) {
					got = append(got, classify(m))
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("framed %v, want %v", got, tc.want)
			}
			if f.broken != tc.broken {
				t.Errorf("broken = %v, want %v", f.broken, tc.broken)
			}
		})
	}
}

// Random cuts of a stream give the same messages as one read.
func TestFramerRandomSplits(t *testing.T) {
	stream := strings.Repeat(resp200+notify+"\r\n", 20)
	r := rand.New(rand.NewPCG(1, 1))
	for range 50 {
		var f framer
		n := 0
		for rest := stream; rest != ""; {
			k := 1 + r.IntN(min(len(rest), 200))
			n += len(f.feed([]byte(rest[:k])))
			rest = rest[k:]
		}
		if n != 40 || f.broken || len(f.buf) != 0 {
			t.Fatalf("framed %d messages (broken %v, %d bytes left), want 40", n, f.broken, len(f.buf))
		}
	}
}

func TestClassify(t *testing.T) {
	tests := map[string]string{
		resp200:                            "2xx",
		"SIP/2.0 486 Busy Here\r\n\r\n":    "4xx",
		"SIP/1.0 400 Bad Request\r\n\r\n":  "4xx in another version",
		notify:                             "NOTIFY",
		"BYE sip:x@y SIP/2.0\r\n":          "BYE",
		"\x00\x01garbage":                  "junk",
		"SIP/2.0 999 What\r\n":             "junk",
		"bye sip:x SIP/2.0\r\n":            "junk",
		"\r\n":                             "junk",
		"INVITE sip:700@x SIP/3.0\r\n\r\n": "junk",
	}
	for in, want := range tests {
		if got := classify([]byte(in)); got != want {
			t.Errorf("classify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNXDomain(t *testing.T) {
	// A query for SRV _sip._udp.a.invalid, id 0x1234, RD set.
	q := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range []string{"_sip", "_udp", "a", "invalid"} {
		q = append(q, byte(len(l)))
		q = append(q, l...)
	}
	q = append(q, 0, 0, 33, 0, 1)
	name, reply, ok := nxdomain(q)
	if !ok || name != "SRV _sip._udp.a.invalid" {
		t.Fatalf("nxdomain = %q, %v", name, ok)
	}
	if reply[0] != 0x12 || reply[1] != 0x34 || reply[2]&0x80 == 0 || reply[2]&0x01 == 0 || reply[3]&0x0f != 3 {
		t.Errorf("reply header % x: want the query's id, QR, RD and RCODE 3", reply[:4])
	}
	if len(reply) != len(q) {
		t.Errorf("reply is %d bytes, want the header and the question (%d)", len(reply), len(q))
	}
	for _, bad := range [][]byte{nil, q[:11], q[:20], append(q[:12:12], 0xc0, 0x0c)} {
		if _, _, ok := nxdomain(bad); ok {
			t.Errorf("nxdomain(% x) answered a malformed query", bad)
		}
	}
}

func TestParseIPs(t *testing.T) {
	got, err := parseIPs("127.0.0.2-127.0.0.4, 127.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, ip := range got {
		s = append(s, ip.String())
	}
	if want := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.9"}; !slices.Equal(s, want) {
		t.Errorf("parseIPs = %v, want %v", s, want)
	}
	for _, bad := range []string{"", "x", "127.0.0.5-127.0.0.2", "127.0.0.0-127.0.2.0"} {
		if _, err := parseIPs(bad); err == nil {
			t.Errorf("parseIPs(%q) accepted", bad)
		}
	}
}

func TestTopBranch(t *testing.T) {
	tests := map[string]string{
		"BYE sip:a SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc;rport\r\nVia: SIP/2.0/UDP x;branch=other\r\n\r\n": "z9hG4bKabc",
		"BYE sip:a SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKxyz\r\n\r\n":                                            "z9hG4bKxyz",
		"BYE sip:a SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060\r\n\r\n":                                                            "",
		"BYE sip:a SIP/2.0\r\nCSeq: 1 BYE\r\n\r\n":                                                                                "",
	}
	for in, want := range tests {
		if got := topBranch([]byte(in)); got != want {
			t.Errorf("topBranch(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatusLine(t *testing.T) {
	tests := map[string]string{
		resp200:                                            "200 OK",
		"SIP/2.0 505 Version Not Supported\r\n":            "505 Version Not Supported",
		"SIP/2.0 400 Bad \x1b[31m\r\n":                     `"400 Bad \x1b[31m"`,
		"SIP/2.0 400 " + strings.Repeat("x", 100) + "\r\n": "400 " + strings.Repeat("x", 40),
		"SIP/1.0 200 OK\r\n":                               "",
		notify:                                             "",
	}
	for in, want := range tests {
		if got := statusLine([]byte(in)); got != want {
			t.Errorf("statusLine(%q) = %q, want %q", in, got, want)
		}
	}
}
