package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// A mutation breaks a message the way a buggy phone, a scanner or an
// attacker would. It must not depend on anything but its input and r.
type mutation struct {
	name  string
	apply func(r *rand.Rand, msg []byte) []byte
}

var mutations = []mutation{
	{"byte-flip", byteFlip},
	{"truncate", truncate},
	{"duplicate-header", duplicateHeader},
	{"huge-header", hugeHeader},
	{"bad-content-length", badContentLength},
	{"bad-version", badVersion},
	{"cseq-mismatch", cseqMismatch},
	{"garbage", garbage},
	{"deep-sdp", deepSDP},
	{"invalid-host", invalidHost},
	{"drop-header", dropHeader},
	{"compact-and-fold", compactAndFold},
	{"control-chars", controlChars},
	{"many-vias", manyVias},
}

// mutationByName finds a mutation, for tests and -print.
func mutationByName(name string) (mutation, bool) {
	for _, m := range mutations {
		if m.name == name {
			return m, true
		}
	}
	return mutation{}, false
}

var crlf = []byte("\r\n")

// splitMessage cuts a message into header lines and the body (after the
// first empty line). A message with no empty line is all head.
func splitMessage(msg []byte) (lines [][]byte, body []byte) {
	head := msg
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		head, body = msg[:i], msg[i+4:]
	}
	return bytes.Split(head, crlf), body
}

func joinMessage(lines [][]byte, body []byte) []byte {
	out := bytes.Join(lines, crlf)
	out = append(out, "\r\n\r\n"...)
	return append(out, body...)
}

// headerIndex is the index of the first line whose name is one of names
// (case-insensitive), or -1.
func headerIndex(lines [][]byte, names ...string) int {
	for i, l := range lines[min(1, len(lines)):] {
		name, _, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		for _, n := range names {
			if strings.EqualFold(string(bytes.TrimSpace(name)), n) {
				return i + 1
			}
		}
	}
	return -1
}

func byteFlip(r *rand.Rand, msg []byte) []byte {
	if len(msg) == 0 {
		return msg
	}
	out := bytes.Clone(msg)
	for range 1 + r.IntN(8) {
		out[r.IntN(len(out))] ^= byte(1 << r.IntN(8))
	}
	return out
}

func truncate(r *rand.Rand, msg []byte) []byte {
	if len(msg) < 2 {
		return msg
	}
	return bytes.Clone(msg[:r.IntN(len(msg))])
}

// duplicateHeader repeats a header line, once or many times: two Call-IDs,
// two Content-Lengths that disagree, a hundred Froms.
func duplicateHeader(r *rand.Rand, msg []byte) []byte {
	lines, body := splitMessage(msg)
	if len(lines) < 2 {
		return msg
	}
	i := 1 + r.IntN(len(lines)-1)
	times := 1
	if r.IntN(4) == 0 {
		times = 1 + r.IntN(500)
	}
	dup := bytes.Clone(lines[i])
	if r.IntN(2) == 0 { // a copy that disagrees with the original
		dup = append(dup, byte('0'+r.IntN(10)))
	}
	out := append([][]byte{}, lines[:i+1]...)
	for range times {
		out = append(out, dup)
	}
	return joinMessage(append(out, lines[i+1:]...), body)
}

// hugeHeader grows a header value (or adds one) to kilobytes.
func hugeHeader(r *rand.Rand, msg []byte) []byte {
	lines, body := splitMessage(msg)
	size := []int{1 << 10, 8 << 10, 32 << 10, 60 << 10}[r.IntN(4)]
	filler := bytes.Repeat([]byte{"aZ9;,<>\"@ "[r.IntN(10)]}, size)
	if len(lines) > 1 && r.IntN(2) == 0 {
		i := 1 + r.IntN(len(lines)-1)
		lines[i] = append(bytes.Clone(lines[i]), filler...)
	} else {
		lines = append(lines, append([]byte("X-Fuzz: "), filler...))
	}
	return joinMessage(lines, body)
}

func badContentLength(r *rand.Rand, msg []byte) []byte {
	lines, body := splitMessage(msg)
	values := []string{"-1", "0", "4294967296", "99999999999999999999", "abc", "", " 12 34", "65536", fmt.Sprint(len(body) + 1 + r.IntN(1000))}
	if len(body) > 0 {
		values = append(values, fmt.Sprint(r.IntN(len(body))))
	}
	v := values[r.IntN(len(values))]
	if i := headerIndex(lines, "Content-Length", "l"); i >= 0 {
		lines[i] = []byte("Content-Length: " + v)
	} else {
		lines = append(lines, []byte("Content-Length: "+v))
	}
	return joinMessage(lines, body)
}

func badVersion(r *rand.Rand, msg []byte) []byte {
	lines, body := splitMessage(msg)
	versions := []string{"SIP/3.0", "SIP/2.1", "SIP/1.0", "sip/2.0", "HTTP/1.1", "SIP/", "SIP/2.0.0", ""}
	v := versions[r.IntN(len(versions))]
	first := string(lines[0])
	if strings.HasPrefix(first, "SIP/2.0 ") {
		lines[0] = []byte(v + strings.TrimPrefix(first, "SIP/2.0"))
	} else {
		lines[0] = []byte(strings.Replace(first, " SIP/2.0", " "+v, 1))
	}
	if r.IntN(3) == 0 { // the Via's version too
		if i := headerIndex(lines, "Via", "v"); i >= 0 {
			lines[i] = bytes.Replace(lines[i], []byte("SIP/2.0/"), []byte(v+"/"), 1)
		}
	}
	return joinMessage(lines, body)
}

// cseqMismatch makes CSeq disagree with the request line, or be absurd.
func cseqMismatch(r *rand.Rand, msg []byte) []byte {
	lines, body := splitMessage(msg)
	i := headerIndex(lines, "CSeq")
	if i < 0 {
		return msg
	}
	num, method, _ := strings.Cut(strings.TrimSpace(string(lines[i][len("CSeq:"):])), " ")
	if r.IntN(2) == 0 {
		// Another method than the request's (or the response's own).
		methods := []string{"INVITE", "BYE", "ACK", "CANCEL", "OPTIONS", "SUBSCRIBE", "NOTIFY", "REFER", "FOO", ""}
		methods = slices.DeleteFunc(methods, func(m string) bool { return m == method })
		method = methods[r.IntN(len(methods))]
	} else {
		nums := []string{"0", "-1", "4294967296", "99999999999999999999", "x", ""}
		num = nums[r.IntN(len(nums))]
	}
	lines[i] = []byte("CSeq: " + num + " " + method)
	return joinMessage(lines, body)
}

// garbage replaces the message: random bytes, or random printable text
// that looks a bit like SIP.
func garbage(r *rand.Rand, msg []byte) []byte {
	n := 1 + r.IntN(2000)
	out := make([]byte, n)
	printable := r.IntN(2) == 0
	for i := range out {
		if printable {
			out[i] = byte(' ' + r.IntN(95))
		} else {
			out[i] = byte(r.IntN(256))
		}
	}
	if printable && r.IntN(2) == 0 {
		out = append([]byte("INVITE sip:700@x SIP/2.0\r\n"), out...)
	}
	return out
}

// deepSDP replaces the body with an SDP that is huge, deep or wrong, with
// a Content-Length that matches, so it reaches the SDP parser.
func deepSDP(r *rand.Rand, msg []byte) []byte {
	lines, _ := splitMessage(msg)
	var b strings.Builder
	b.WriteString("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n")
	switch r.IntN(6) {
	case 0: // thousands of media lines
		b.WriteString("c=IN IP4 127.0.0.1\r\nt=0 0\r\n")
		for i := range 500 + r.IntN(2000) {
			fmt.Fprintf(&b, "m=audio %d RTP/AVP 0\r\n", 10000+i)
		}
	case 1: // thousands of attributes
		b.WriteString("c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n")
		for i := range 1000 + r.IntN(5000) {
			fmt.Fprintf(&b, "a=rtpmap:%d X%d/8000\r\n", i%128, i)
		}
	case 2: // names where addresses go
		b.WriteString("c=IN IP4 media.fuzz.invalid\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:4001 IN IP4 rtcp.fuzz.invalid\r\n")
	case 3: // numbers out of range
		b.WriteString("c=IN IP4 127.0.0.1/300/5\r\nt=0 0\r\nm=audio 99999 RTP/AVP 0 8 255 -1 4294967296\r\na=ptime:-20\r\na=rtpmap:0 PCMU/0/99\r\n")
	case 4: // lines that are not SDP at all
		b.WriteString("c=\r\nt=\r\nm=\r\n=\r\nzz\r\n\x00\x01\x02\r\nm=audio\r\nm=audio 4000\r\n")
	case 5: // IPv6 and odd address types
		b.WriteString("c=IN IP6 ::ffff:127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP7 1.2.3.4\r\nc=XX IP4 1.2.3.4\r\n")
	}
	body := []byte(b.String())
	if i := headerIndex(lines, "Content-Type", "c"); i >= 0 {
		lines[i] = []byte("Content-Type: application/sdp")
	} else {
		lines = append(lines, []byte("Content-Type: application/sdp"))
	}
	if i := headerIndex(lines, "Content-Length", "l"); i >= 0 {
		lines[i] = []byte(fmt.Sprintf("Content-Length: %d", len(body)))
	} else {
		lines = append(lines, []byte(fmt.Sprintf("Content-Length: %d", len(body))))
	}
	return joinMessage(lines, body)
}

// invalidHost points URIs at names under .invalid: the Request-URI,
// Contact, Via, Record-Route, Referred-By, Refer-To.
func invalidHost(r *rand.Rand, msg []byte) []byte {
	lines, body := splitMessage(msg)
	name := fmt.Sprintf("h%d.fuzz.invalid", r.IntN(1000))
	switch r.IntN(4) {
	case 0:
		if i := bytes.IndexByte(lines[0], '@'); i >= 0 {
			if j := bytes.IndexByte(lines[0][i:], ' '); j >= 0 {
				lines[0] = append(append(bytes.Clone(lines[0][:i+1]), name...), lines[0][i+j:]...)
			}
		}
	case 1:
		lines = append(lines, []byte("Record-Route: <sip:"+name+";lr>"))
	case 2:
		if i := headerIndex(lines, "Contact", "m"); i >= 0 {
			lines[i] = []byte("Contact: <sip:fuzz@" + name + ">")
		}
	case 3:
		if i := headerIndex(lines, "Via", "v"); i >= 0 {
			lines[i] = []byte(fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK%d", name, r.Uint32()))
		}
	}
	if r.IntN(3) == 0 {
		lines = append(lines, []byte("Referred-By: <sip:parker@"+name+">"))
	}
	return joinMessage(lines, body)
}

// dropHeader removes a header the message needs.
func dropHeader(r *rand.Rand, msg []byte) []byte {
	lines, body := splitMessage(msg)
	names := []string{"Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards", "Contact", "Content-Length", "Content-Type", "Event"}
	if i := headerIndex(lines, names[r.IntN(len(names))]); i >= 0 {
		lines = append(lines[:i:i], lines[i+1:]...)
	}
	return joinMessage(lines, body)
}

// compactAndFold uses compact header names, bare LF line ends or line
// folding (continuation lines), all legal or nearly so.
func compactAndFold(r *rand.Rand, msg []byte) []byte {
	switch r.IntN(3) {
	case 0:
		lines, body := splitMessage(msg)
		compact := map[string]string{"via": "v", "from": "f", "to": "t", "call-id": "i", "contact": "m", "content-length": "l", "content-type": "c", "event": "o"}
		for i := 1; i < len(lines); i++ {
			name, val, ok := bytes.Cut(lines[i], []byte(":"))
			if c, known := compact[strings.ToLower(string(name))]; ok && known {
				lines[i] = append([]byte(c+":"), val...)
			}
		}
		return joinMessage(lines, body)
	case 1:
		return bytes.ReplaceAll(msg, crlf, []byte("\n"))
	default:
		lines, body := splitMessage(msg)
		if len(lines) > 2 {
			i := 1 + r.IntN(len(lines)-1)
			if j := bytes.IndexByte(lines[i], ' '); j >= 0 {
				lines[i] = append(append(bytes.Clone(lines[i][:j]), "\r\n   "...), lines[i][j+1:]...)
			}
		}
		return joinMessage(lines, body)
	}
}

// controlChars puts NUL, escape sequences and bytes that are not UTF-8
// into header values: what ends up in a log line.
func controlChars(r *rand.Rand, msg []byte) []byte {
	lines, body := splitMessage(msg)
	bad := [][]byte{{0}, []byte("\x1b[31m"), {0xff, 0xfe}, []byte("\r"), []byte("%00"), []byte("\u202e"), []byte("\x1b]0;pwned\x07")}
	for range 1 + r.IntN(4) {
		i := r.IntN(len(lines))
		at := r.IntN(len(lines[i]) + 1)
		ins := bad[r.IntN(len(bad))]
		l := append(bytes.Clone(lines[i][:at]), ins...)
		lines[i] = append(l, lines[i][at:]...)
	}
	return joinMessage(lines, body)
}

// manyVias adds a long Via chain or route set.
func manyVias(r *rand.Rand, msg []byte) []byte {
	lines, body := splitMessage(msg)
	name := "Via: SIP/2.0/UDP 127.0.0.%d:5060;branch=z9hG4bK%d"
	if r.IntN(2) == 0 {
		name = "Record-Route: <sip:127.0.0.%d:5060;lr;x=%d>"
	}
	out := append([][]byte{}, lines[0])
	for k := range 10 + r.IntN(300) {
		out = append(out, []byte(fmt.Sprintf(name, 1+k%250, k)))
	}
	return joinMessage(append(out, lines[1:]...), body)
}
