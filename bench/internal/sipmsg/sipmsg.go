// Package sipmsg reads the few SIP messages the load tools exchange with
// parkd (bench/loadgen) or stand in for it (bench/setupfloor): enough to
// match a message to its call and route it, and no more. It is not a SIP
// parser for anything else. Their answers are internal/rawsip's.
package sipmsg

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/parkd/parkd/internal/rawsip"
)

// Message is what a load tool reads of a SIP message. Values point into
// the datagram's buffer.
type Message struct {
	Request bool
	Method  string // of a request, or from CSeq for a response
	URI     string // a request's Request-URI
	Status  int
	CallID  string
	CSeq    int
	ToTag   string
	// Raw header lines, for a dialog's From and To and a request's Via.
	Via, From, To [][]byte
}

// Parse reads the start line and the headers the tools use (those
// rawsip.HeaderName knows); anything else is skipped. It returns an
// error for what is not SIP.
func Parse(b []byte) (Message, error) {
	var m Message
	start, _, _ := bytes.Cut(b, []byte("\r\n"))
	if bytes.HasPrefix(start, []byte("SIP/2.0 ")) {
		if len(start) < 11 {
			return m, fmt.Errorf("short status line %q", start)
		}
		code, err := strconv.Atoi(string(start[8:11]))
		if err != nil {
			return m, fmt.Errorf("status line %q: %w", start, err)
		}
		m.Status = code
	} else {
		method, rest, ok := bytes.Cut(start, []byte(" "))
		uri, version, ok2 := bytes.Cut(rest, []byte(" "))
		if !ok || !ok2 || string(version) != "SIP/2.0" {
			return m, fmt.Errorf("not a SIP start line: %q", start)
		}
		m.Request, m.Method, m.URI = true, string(method), string(uri)
	}
	for line := range rawsip.HeaderLines(b) {
		name := rawsip.HeaderName(line)
		if name == "" {
			continue
		}
		_, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch name {
		case "call-id", "i":
			m.CallID = string(value)
		case "cseq":
			num, method, _ := bytes.Cut(value, []byte(" "))
			m.CSeq, _ = strconv.Atoi(string(num))
			if !m.Request {
				m.Method = string(bytes.TrimSpace(method))
			}
		case "via", "v":
			m.Via = append(m.Via, line)
		case "from", "f":
			m.From = append(m.From, line)
		case "to", "t":
			m.To = append(m.To, line)
			if _, tag, ok := bytes.Cut(value, []byte(";tag=")); ok {
				if i := bytes.IndexAny(tag, ";> "); i >= 0 {
					tag = tag[:i]
				}
				m.ToTag = string(tag)
			}
		}
	}
	if m.CallID == "" || m.CSeq == 0 {
		return m, fmt.Errorf("no Call-ID or CSeq")
	}
	return m, nil
}

// HeaderValue is what follows the colon of a raw header line, trimmed.
func HeaderValue(line []byte) string {
	_, v, _ := bytes.Cut(line, []byte(":"))
	return string(bytes.TrimSpace(v))
}

// SDPAudio finds the audio destination in an SDP body: the c= address and
// the m=audio port. ok is false when either is missing.
func SDPAudio(body []byte) (ip string, port int, ok bool) {
	for _, line := range bytes.Split(body, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if v, found := bytes.CutPrefix(line, []byte("c=IN IP4 ")); found {
			ip = string(bytes.TrimSpace(v))
		}
		if v, found := bytes.CutPrefix(line, []byte("m=audio ")); found {
			p, _, _ := bytes.Cut(v, []byte(" "))
			port, _ = strconv.Atoi(string(p))
		}
	}
	return ip, port, ip != "" && port > 0
}

// Body is what follows the blank line.
func Body(b []byte) []byte {
	_, rest, _ := bytes.Cut(b, []byte("\r\n\r\n"))
	return rest
}
