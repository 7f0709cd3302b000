package main

import (
	"bytes"
	"fmt"
	"strconv"
)

// message is what the generator reads of a SIP message: enough to match it
// to a call and to answer it. Values point into the datagram's buffer.
type message struct {
	request bool
	method  string // of a request, or from CSeq for a response
	status  int
	callID  string
	cseq    int
	toTag   string
	// Raw header lines a response to a request copies (RFC 3261 §8.2.6.2).
	via, from, to, cseqLine [][]byte
}

// parseMessage reads the start line and the headers the generator uses;
// anything else is skipped. It returns an error for what is not SIP.
func parseMessage(b []byte) (message, error) {
	var m message
	head, _, _ := bytes.Cut(b, []byte("\r\n\r\n"))
	lines := bytes.Split(head, []byte("\r\n"))
	if len(lines) == 0 {
		return m, fmt.Errorf("empty message")
	}
	start := lines[0]
	if bytes.HasPrefix(start, []byte("SIP/2.0 ")) {
		if len(start) < 11 {
			return m, fmt.Errorf("short status line %q", start)
		}
		code, err := strconv.Atoi(string(start[8:11]))
		if err != nil {
			return m, fmt.Errorf("status line %q: %w", start, err)
		}
		m.status = code
	} else {
		method, _, ok := bytes.Cut(start, []byte(" "))
		if !ok || !bytes.HasSuffix(start, []byte(" SIP/2.0")) {
			return m, fmt.Errorf("not a SIP start line: %q", start)
		}
		m.request, m.method = true, string(method)
	}
	for _, line := range lines[1:] {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch string(bytes.ToLower(bytes.TrimSpace(name))) {
		case "call-id", "i":
			m.callID = string(value)
		case "cseq":
			m.cseqLine = append(m.cseqLine, line)
			num, method, _ := bytes.Cut(value, []byte(" "))
			m.cseq, _ = strconv.Atoi(string(num))
			if !m.request {
				m.method = string(bytes.TrimSpace(method))
			}
		case "via", "v":
			m.via = append(m.via, line)
		case "from", "f":
			m.from = append(m.from, line)
		case "to", "t":
			m.to = append(m.to, line)
			if _, tag, ok := bytes.Cut(value, []byte(";tag=")); ok {
				if i := bytes.IndexAny(tag, ";> "); i >= 0 {
					tag = tag[:i]
				}
				m.toTag = string(tag)
			}
		}
	}
	if m.callID == "" || m.cseq == 0 {
		return m, fmt.Errorf("no Call-ID or CSeq")
	}
	return m, nil
}

// okResponse is a 200 to a request, from its own headers.
func okResponse(m message) []byte {
	var b bytes.Buffer
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, group := range [][][]byte{m.via, m.from, m.to} {
		for _, l := range group {
			b.Write(l)
			b.WriteString("\r\n")
		}
	}
	b.WriteString("Call-ID: " + m.callID + "\r\n")
	for _, l := range m.cseqLine {
		b.Write(l)
		b.WriteString("\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.Bytes()
}

// sdpAudio finds the audio destination in an SDP body: the c= address and
// the m=audio port. ok is false when either is missing.
func sdpAudio(body []byte) (ip string, port int, ok bool) {
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

// body is what follows the blank line.
func body(b []byte) []byte {
	_, rest, _ := bytes.Cut(b, []byte("\r\n\r\n"))
	return rest
}
