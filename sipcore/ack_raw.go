package sipcore

import (
	"bytes"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/internal/rawsip"
)

// The ACK of a 2xx parkd sent is taken on the UDP read loop, from the
// datagram's bytes. Every answered call brings one, a park+retrieve pair
// two, and sipgo gave each the cost of a new request: a full parse, a
// goroutine, a server transaction of its own (the ACK of a 2xx matches
// none, RFC 3261 §17.1.1.3) with a context and a timer, and a turn on a
// handler goroutine, all to stop a timer and close a channel. Here it
// costs a scan of the header lines and a map lookup.
//
// Only an ACK that a waiting 2xx is found for is taken, and only one
// this scan reads exactly as sipgo would. Anything else goes on to sipgo
// as before: a copy or a reordered ACK, the ACK of an error response
// (sipgo's INVITE transaction needs it to stop resending), an ACK with a
// body (the answer to a late offer), folded or repeated headers, and
// whatever is not plain. The scan is stricter than sipgo, never looser:
// FuzzRawAck holds it to sipgo's reading.

// rawAck is what the read loop needs of an ACK: the dialog and the CSeq
// number.
type rawAck struct {
	dialog DialogID
	cseq   uint32
}

// takeAck is the read filter's part for an ACK datagram: true when it
// acknowledged a 2xx that was waiting, and sipgo need not see it.
func (ep *Endpoint) takeAck(data []byte) bool {
	ack, ok := parseRawAck(data)
	if !ok {
		return false
	}
	c := ep.dialogs.get(ack.dialog)
	if c == nil {
		return false
	}
	c.mu.Lock()
	taken := c.ackArrivedLocked(ack.cseq)
	c.mu.Unlock()
	if taken {
		ep.stats.request(sip.ACK)
	}
	return taken
}

// parseRawAck reads an ACK datagram: its request line ends in SIP/2.0, it
// has a Via, exactly one Call-ID, From, To and CSeq (of method ACK), From
// and To each with one tag, no body and no folded line. false for
// anything else.
func parseRawAck(data []byte) (rawAck, bool) {
	head, body, found := bytes.Cut(data, []byte("\r\n\r\n"))
	if !found || len(body) > 0 {
		return rawAck{}, false
	}
	start, _, _ := bytes.Cut(head, []byte("\r\n"))
	if !bytes.HasPrefix(start, []byte("ACK ")) || !bytes.HasSuffix(start, []byte(" SIP/2.0")) {
		return rawAck{}, false
	}
	var callID, from, to, cseq []byte
	var seen [4]int
	via := false
	for line := range rawsip.HeaderLines(data) {
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			return rawAck{}, false // folded: sipgo joins it to the line before
		}
		_, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return rawAck{}, false
		}
		value = bytes.TrimSpace(value)
		switch rawsip.HeaderName(line) {
		case "via", "v":
			via = true
		case "call-id", "i":
			callID = value
			seen[0]++
		case "from", "f":
			from = value
			seen[1]++
		case "to", "t":
			to = value
			seen[2]++
		case "cseq":
			cseq = value
			seen[3]++
		case "content-length", "l":
			if string(value) != "0" {
				return rawAck{}, false
			}
		}
	}
	if !via || seen != [4]int{1, 1, 1, 1} || len(callID) == 0 || bytes.ContainsAny(callID, " \t,") {
		return rawAck{}, false
	}
	seq, ok := ackCSeq(cseq)
	if !ok {
		return rawAck{}, false
	}
	remoteTag, ok := addressTag(from)
	if !ok {
		return rawAck{}, false
	}
	localTag, ok := addressTag(to)
	if !ok {
		return rawAck{}, false
	}
	return rawAck{
		dialog: DialogID{CallID: string(callID), LocalTag: string(localTag), RemoteTag: string(remoteTag)},
		cseq:   seq,
	}, true
}

// maxCSeq is the largest CSeq number RFC 3261 §8.1.1.5 allows, and sipgo
// reads.
const maxCSeq = 1<<31 - 1

// ackCSeq reads a CSeq value of exactly "N ACK".
func ackCSeq(v []byte) (uint32, bool) {
	num, method, ok := bytes.Cut(v, []byte(" "))
	if !ok || string(method) != "ACK" || len(num) == 0 || len(num) > 10 {
		return 0, false
	}
	var n uint64
	for _, d := range num {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + uint64(d-'0')
	}
	if n > maxCSeq {
		return 0, false
	}
	return uint32(n), true
}

// addressTag returns the tag of a From or To value in the one plain shape
// read here: one address; the URI in <...> after a display name (quoted
// without escapes, or a bare one without ';'), or a bare URI; header
// parameters spelled name or name=value, both tokens, one of them tag.
// Anything else is false, for sipgo to read.
func addressTag(v []byte) ([]byte, bool) {
	if bytes.IndexByte(v, ',') >= 0 {
		return nil, false
	}
	if len(v) > 0 && v[0] == '"' {
		end := bytes.IndexByte(v[1:], '"')
		if end < 0 || bytes.ContainsAny(v[1:1+end], "\\<>;") {
			return nil, false
		}
		v = bytes.TrimLeft(v[1+end+1:], " \t")
		if len(v) == 0 || v[0] != '<' {
			return nil, false
		}
	}
	if bytes.IndexByte(v, '"') >= 0 {
		return nil, false
	}
	var params []byte
	if open := bytes.IndexByte(v, '<'); open >= 0 {
		end := bytes.IndexByte(v, '>')
		if end < open || bytes.IndexByte(v[:open], ';') >= 0 ||
			bytes.Count(v, []byte("<")) != 1 || bytes.Count(v, []byte(">")) != 1 {
			return nil, false
		}
		params = v[end+1:]
	} else {
		if bytes.ContainsAny(v, "> \t") {
			return nil, false
		}
		semi := bytes.IndexByte(v, ';')
		if semi < 0 {
			return nil, false
		}
		params = v[semi:]
	}
	if len(params) == 0 || params[0] != ';' {
		return nil, false
	}
	var tag []byte
	rest := params[1:]
	for {
		param, more, another := bytes.Cut(rest, []byte(";"))
		name, value, hasValue := bytes.Cut(param, []byte("="))
		if !isToken(name) || hasValue && !isToken(value) {
			return nil, false
		}
		if string(name) == "tag" {
			if tag != nil || !hasValue {
				return nil, false
			}
			tag = value
		}
		if !another {
			return tag, tag != nil
		}
		rest = more
	}
}

// isToken reports whether b is a token of RFC 3261 §25.1.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
