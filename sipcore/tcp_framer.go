package sipcore

import (
	"bytes"
	"errors"

	"github.com/emiago/sipgo/sip"
)

// maxTCPMessageBytes bounds one SIP message over TCP, headers and body.
// sipgo refuses messages over sip.ParseMaxMessageLength (64 KiB, a
// variable) too, but only once it has buffered them, and then it logs them
// whole at ERROR; the framer sees every read first and, with a bound a
// little lower, closes the connection before sipgo gets that far.
var maxTCPMessageBytes = min(63<<10, sip.ParseMaxMessageLength-1024)

var (
	errTCPHeadersTooLong = errors.New("SIP headers longer than 63 KiB")
	errTCPBodyTooLong    = errors.New("SIP message longer than 63 KiB (Content-Length)")
)

type framerState uint8

const (
	frameIdle      framerState = iota // between messages: only CR and LF (keep-alives) are expected
	frameLineStart                    // the first byte of a header line, or of the empty line that ends the headers
	frameName                         // in a header name, before its colon
	frameValue                        // in the value of a Content-Length header
	frameSkip                         // in a line that does not matter: up to its CR
	frameCR                           // after a CR inside the headers: an LF ends the line
	frameEndCR                        // after the CR of the empty line: an LF ends the headers
	frameBody                         // in the body: bodyLeft bytes to go
)

// sipFramer finds where SIP messages begin and end in a TCP byte stream, so
// that the connection can time each message from its first byte to its
// last (slowloris). It parses only what framing needs, the same way sipgo's
// stream parser does: a message is a start line and headers, each ended by
// CRLF, an empty line, then Content-Length (or compact "l") bytes of body;
// CRs and LFs between messages are keep-alives (RFC 5626 §3.5.1) and start
// nothing. It keeps no bytes, only counts, so a connection costs the same
// whatever the peer sends. The zero value is a framer between messages.
type sipFramer struct {
	state       framerState
	headerBytes int
	name        [len("content-length")]byte
	nameLen     int  // bytes of the name seen, capped at len(name)+1 (too long to matter)
	inHeaders   bool // a header line has begun: a line starting with a space may fold into it
	valueHeader bool // the current header (and its folded lines) is Content-Length
	value       int  // digits of the current Content-Length so far
	contentLen  int  // the last Content-Length of the message, as sipgo takes the last one
	bodyLeft    int
}

// inMessage reports whether a message has begun and not yet ended.
func (f *sipFramer) inMessage() bool { return f.state != frameIdle }

// feed consumes the next bytes of the stream. started reports that the
// message still incomplete at the end of p began inside p (so its clock
// starts now); err means the peer broke a bound and the connection should
// be closed.
func (f *sipFramer) feed(p []byte) (started bool, err error) {
	for i := 0; i < len(p); {
		switch f.state {
		case frameIdle:
			for i < len(p) && (p[i] == '\r' || p[i] == '\n') {
				i++
			}
			if i == len(p) {
				return false, nil
			}
			f.startMessage()
			started = true
			f.state = frameSkip // the start line
			if j := bytes.IndexByte(p[i:], '\r'); j >= 4 && !bytes.EqualFold(p[i:i+4], []byte("SIP/")) {
				// A request line read whole: SIP/2.0 in upper case, as
				// over UDP (spellVersion). One split across reads keeps
				// its spelling, which then only sipgo's own 487 echoes.
				spellVersion(p[i : i+j])
			}
		case frameBody:
			n := min(f.bodyLeft, len(p)-i)
			f.bodyLeft -= n
			i += n
			if f.bodyLeft == 0 {
				f.state = frameIdle
				started = false
			}
		case frameSkip:
			// The common case: a line whose content does not matter.
			j := bytes.IndexByte(p[i:], '\r')
			if j < 0 {
				j = len(p) - i
			} else {
				f.state = frameCR
				j++
			}
			if err := f.countHeader(j); err != nil {
				return started, err
			}
			i += j
		default:
			if err := f.countHeader(1); err != nil {
				return started, err
			}
			if err := f.headerByte(p[i]); err != nil {
				return started, err
			}
			i++
			if f.state == frameIdle {
				started = false
			}
		}
	}
	return started, nil
}

func (f *sipFramer) startMessage() {
	*f = sipFramer{state: frameLineStart}
}

func (f *sipFramer) countHeader(n int) error {
	f.headerBytes += n
	if f.headerBytes > maxTCPMessageBytes {
		return errTCPHeadersTooLong
	}
	return nil
}

// headerByte advances the header states by one byte.
func (f *sipFramer) headerByte(b byte) error {
	switch f.state {
	case frameCR:
		if b == '\n' {
			f.state = frameLineStart
			return nil
		}
		// A lone CR: sipgo will refuse the message; keep scanning the line.
		f.state = frameSkip
		if f.valueHeader {
			f.state = frameValue
		}
		return f.headerByte(b)
	case frameEndCR:
		if b != '\n' {
			f.state = frameSkip
			return nil
		}
		if f.headerBytes+f.contentLen > maxTCPMessageBytes {
			return errTCPBodyTooLong
		}
		f.bodyLeft = f.contentLen
		f.state = frameBody
		if f.bodyLeft == 0 {
			f.state = frameIdle
		}
		return nil
	case frameLineStart:
		switch b {
		case '\r':
			f.state = frameEndCR
			f.endValue()
			return nil
		case ' ', '\t':
			if !f.inHeaders {
				break // nothing to fold into after the start line: a header, as sipgo takes it
			}
			// A folded line continues the header above it (RFC 3261 §7.3.1).
			if f.valueHeader {
				f.state = frameValue
			} else {
				f.state = frameSkip
			}
			return nil
		}
		f.endValue()
		f.nameLen = 0
		f.inHeaders = true
		f.state = frameName
		return f.headerByte(b)
	case frameName:
		switch {
		case b == ':':
			f.valueHeader = f.isContentLength()
			f.value = 0
			f.state = frameSkip
			if f.valueHeader {
				f.state = frameValue
			}
		case b == '\r':
			f.state = frameCR
		case isSpace(b):
			// sipgo trims spaces around the name.
		case f.nameLen < len(f.name):
			f.name[f.nameLen] = b | 0x20 // ASCII lower case; other bytes make no match anyway
			f.nameLen++
		default:
			f.nameLen = len(f.name) + 1
		}
		return nil
	case frameValue:
		switch {
		case b >= '0' && b <= '9':
			f.value = f.value*10 + int(b-'0')
			if f.value > maxTCPMessageBytes {
				return errTCPBodyTooLong
			}
		case b == '\r':
			f.state = frameCR
		case isSpace(b):
		default:
			// Not a number: sipgo rejects the header; leave the length as it was.
			f.valueHeader = false
			f.state = frameSkip
		}
		return nil
	}
	return nil
}

// endValue takes the Content-Length whose lines have all arrived.
func (f *sipFramer) endValue() {
	if f.valueHeader {
		f.contentLen = f.value
		f.valueHeader = false
	}
}

func (f *sipFramer) isContentLength() bool {
	if f.nameLen > len(f.name) {
		return false
	}
	n := f.name[:f.nameLen]
	return string(n) == "content-length" || string(n) == "l"
}

// isSpace is the ASCII white space sipgo trims from header names and
// values (bytes.TrimSpace), CR aside: it ends lines.
func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f'
}
