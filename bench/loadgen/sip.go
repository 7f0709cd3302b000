package main

import (
	"bytes"
	"strconv"
)

// msg is the little of a SIP message the generator needs, sliced out of
// the datagram without copying (valid until the buffer is reused).
type msg struct {
	request bool
	method  []byte // requests
	code    int    // responses
	callID  []byte
	cseq    int
	cseqM   []byte
	toTag   []byte
	vias    [][]byte
	from    []byte
	to      []byte
	contact []byte // the URI inside Contact's <>
	sdpPort int    // m=audio port of a body, 0 when none
	raw     []byte
}

// parse reads a datagram; false when it is no SIP message.
func parse(b []byte, m *msg) bool {
	*m = msg{raw: b, vias: m.vias[:0]}
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return false
	}
	head, body := b[:end], b[end+4:]
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	if bytes.HasPrefix(line, []byte("SIP/2.0 ")) {
		if len(line) < 11 {
			return false
		}
		c, err := strconv.Atoi(string(line[8:11]))
		if err != nil {
			return false
		}
		m.code = c
	} else {
		sp := bytes.IndexByte(line, ' ')
		if sp <= 0 {
			return false
		}
		m.request, m.method = true, line[:sp]
	}
	for len(rest) > 0 {
		var h []byte
		h, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, val, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		val = bytes.TrimSpace(val)
		switch n := string(bytes.TrimSpace(name)); n { // no allocation: compared only
		case "Call-ID", "i":
			m.callID = val
		case "CSeq":
			num, meth, _ := bytes.Cut(val, []byte(" "))
			m.cseq, _ = strconv.Atoi(string(num))
			m.cseqM = bytes.TrimSpace(meth)
		case "To", "t":
			m.to = val
			if i := bytes.Index(val, []byte(";tag=")); i >= 0 {
				t := val[i+5:]
				if j := bytes.IndexAny(t, ";> "); j >= 0 {
					t = t[:j]
				}
				m.toTag = t
			}
		case "From", "f":
			m.from = val
		case "Via", "v":
			m.vias = append(m.vias, val)
		case "Contact", "m":
			if i := bytes.IndexByte(val, '<'); i >= 0 {
				if j := bytes.IndexByte(val[i:], '>'); j > 0 {
					m.contact = val[i+1 : i+j]
				}
			}
		}
	}
	if i := bytes.Index(body, []byte("m=audio ")); i >= 0 {
		p := body[i+8:]
		if j := bytes.IndexByte(p, ' '); j > 0 {
			m.sdpPort, _ = strconv.Atoi(string(p[:j]))
		}
	}
	return true
}

// sdp is the offer (or answer) of a call whose RTP socket is on port.
func sdp(b []byte, ip string, port int, id uint64) []byte {
	b = append(b, "v=0\r\no=lg "...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, " 1 IN IP4 "...)
	b = append(b, ip...)
	b = append(b, "\r\ns=-\r\nc=IN IP4 "...)
	b = append(b, ip...)
	b = append(b, "\r\nt=0 0\r\nm=audio "...)
	b = strconv.AppendInt(b, int64(port), 10)
	b = append(b, " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"...)
	return b
}

// reply200 answers a request parkd sent us (its BYE to a parked caller,
// an OPTIONS ping) with 200, echoing its Vias, From, To, Call-ID and CSeq.
func reply200(b []byte, m *msg, body []byte) []byte {
	b = append(b, "SIP/2.0 200 OK\r\n"...)
	for _, v := range m.vias {
		b = append(b, "Via: "...)
		b = append(b, v...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "From: "...)
	b = append(b, m.from...)
	b = append(b, "\r\nTo: "...)
	b = append(b, m.to...)
	b = append(b, "\r\nCall-ID: "...)
	b = append(b, m.callID...)
	b = append(b, "\r\nCSeq: "...)
	b = strconv.AppendInt(b, int64(m.cseq), 10)
	b = append(b, ' ')
	b = append(b, m.cseqM...)
	if body != nil {
		b = append(b, "\r\nContent-Type: application/sdp"...)
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}
