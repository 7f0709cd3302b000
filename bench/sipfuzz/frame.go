package main

import (
	"bytes"
	"strconv"
	"strings"
)

// maxFrame bounds what the framer buffers for one message: the daemon
// under test is not trusted to frame its stream either.
const maxFrame = 256 << 10

// framer cuts the daemon's TCP byte stream into SIP messages: a head up
// to the empty line, then Content-Length bytes of body (RFC 3261 18.3).
// Keep-alive CRLFs between messages are skipped.
type framer struct {
	buf []byte
	// broken is set once the stream cannot be framed any more (no
	// Content-Length on a message with a head, an absurd length, or a head
	// longer than maxFrame); the rest of the stream is ignored.
	broken bool
}

// feed adds bytes read from the stream and returns the complete messages
// they finish.
func (f *framer) feed(p []byte) [][]byte {
	if f.broken {
		return nil
	}
	f.buf = append(f.buf, p...)
	var out [][]byte
	for {
		// Skip keep-alives (RFC 5626 sends CRLFCRLF, answered with CRLF).
		trimmed := bytes.TrimLeft(f.buf, "\r\n")
		f.buf = f.buf[len(f.buf)-len(trimmed):]
		end := bytes.Index(f.buf, []byte("\r\n\r\n"))
		if end < 0 {
			if len(f.buf) > maxFrame {
				f.fail()
			}
			return out
		}
		n, ok := contentLength(f.buf[:end])
		if !ok || n > maxFrame {
			f.fail()
			return out
		}
		total := end + 4 + n
		if len(f.buf) < total {
			return out
		}
		out = append(out, bytes.Clone(f.buf[:total]))
		f.buf = f.buf[total:]
	}
}

func (f *framer) fail() {
	f.broken = true
	f.buf = nil
}

// contentLength reads Content-Length (or its compact form l) from a head;
// a stream message must have one.
func contentLength(head []byte) (int, bool) {
	for _, line := range bytes.Split(head, []byte("\r\n"))[1:] {
		name, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		n := strings.TrimSpace(string(name))
		if strings.EqualFold(n, "Content-Length") || strings.EqualFold(n, "l") {
			v, err := strconv.Atoi(strings.TrimSpace(string(val)))
			return v, err == nil && v >= 0
		}
	}
	return 0, false
}

// classify names what the daemon sent: "2xx".."6xx" for a response, the
// method for a request, "junk" for anything else.
func classify(msg []byte) string {
	line, _, _ := bytes.Cut(msg, []byte("\r\n"))
	if rest, ok := bytes.CutPrefix(line, []byte("SIP/2.0 ")); ok {
		if len(rest) >= 3 && rest[0] >= '1' && rest[0] <= '6' {
			return string(rest[0]) + "xx"
		}
		return "junk"
	}
	// A response in another SIP version: the daemon echoed a request's
	// bad version instead of answering 505 (RFC 3261 21.5.6).
	if version, rest, ok := bytes.Cut(line, []byte(" ")); ok && bytes.HasPrefix(bytes.ToUpper(version), []byte("SIP/")) &&
		len(version) <= 16 && len(rest) >= 3 && rest[0] >= '1' && rest[0] <= '6' {
		return string(rest[0]) + "xx in another version"
	}
	method, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || !bytes.HasSuffix(rest, []byte(" SIP/2.0")) || len(method) == 0 || len(method) > 16 {
		return "junk"
	}
	for _, c := range method {
		if c < 'A' || c > 'Z' {
			return "junk"
		}
	}
	return string(method)
}
