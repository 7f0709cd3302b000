package sipcore

import (
	"bytes"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/internal/rawsip"
)

// An in-dialog request read from a datagram's bytes, for the read loop
// (ack_raw.go, bye_raw.go): only what names its dialog and its order,
// and only in the one plain shape phones send, read exactly as sipgo
// reads it (FuzzRawRequest). It reads nothing else of the message: a
// request sipgo would drop as malformed elsewhere (a bad Max-Forwards or
// Via, say) can still be read here. That gives no one anything: what the
// read loop does with it, a call confirmed or ended, takes the dialog's
// Call-ID and both tags, which only its peer and whoever can see its
// signalling know.

// dialogRequest is what the read loop needs of an in-dialog request: the
// dialog and the CSeq number.
type dialogRequest struct {
	dialog DialogID
	cseq   uint32
}

// parseRawRequest reads a request datagram of method m in the plain
// shape: the request line "m URI SIP/2.0", a Via, exactly one Call-ID,
// From, To and CSeq (of method m), From and To each with one tag, no
// body and no folded line. false for anything else.
func parseRawRequest(data []byte, m sip.RequestMethod) (dialogRequest, bool) {
	head, body, found := bytes.Cut(data, []byte("\r\n\r\n"))
	if !found || len(body) > 0 {
		return dialogRequest{}, false
	}
	start, _, _ := bytes.Cut(head, []byte("\r\n"))
	method, rest, _ := bytes.Cut(start, []byte(" "))
	uri, version, _ := bytes.Cut(rest, []byte(" "))
	if string(method) != string(m) || len(uri) == 0 || string(version) != "SIP/2.0" {
		return dialogRequest{}, false
	}
	var callID, from, to, cseq []byte
	var seen [4]int
	via := false
	for line := range rawsip.HeaderLines(data) {
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			return dialogRequest{}, false // folded: sipgo joins it to the line before
		}
		_, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return dialogRequest{}, false
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
				return dialogRequest{}, false
			}
		}
	}
	if !via || seen != [4]int{1, 1, 1, 1} || len(callID) == 0 || bytes.ContainsAny(callID, " \t,") {
		return dialogRequest{}, false
	}
	seq, ok := rawCSeq(cseq, m)
	if !ok {
		return dialogRequest{}, false
	}
	remoteTag, ok := addressTag(from)
	if !ok {
		return dialogRequest{}, false
	}
	localTag, ok := addressTag(to)
	if !ok {
		return dialogRequest{}, false
	}
	return dialogRequest{
		dialog: DialogID{CallID: string(callID), LocalTag: string(localTag), RemoteTag: string(remoteTag)},
		cseq:   seq,
	}, true
}

// maxCSeq is the largest CSeq number RFC 3261 §8.1.1.5 allows, and sipgo
// reads.
const maxCSeq = 1<<31 - 1

// rawCSeq reads a CSeq value of exactly "N m".
func rawCSeq(v []byte, m sip.RequestMethod) (uint32, bool) {
	num, method, ok := bytes.Cut(v, []byte(" "))
	if !ok || string(method) != string(m) || len(num) == 0 || len(num) > 10 {
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
