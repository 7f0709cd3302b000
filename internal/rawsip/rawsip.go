// Package rawsip reads and answers SIP requests from their raw bytes, for
// benchmark watchers that must cost the CPUs they share with parkd as
// little as a phone's stack would: nothing here allocates but the answer.
package rawsip

import (
	"bytes"
	"hash/maphash"
	"iter"
	"strconv"
	"strings"
)

// HeaderLines yields the header lines of a SIP message, the start line
// and body left out.
func HeaderLines(msg []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
		_, head, _ = bytes.Cut(head, []byte("\r\n"))
		for len(head) > 0 {
			var line []byte
			line, head, _ = bytes.Cut(head, []byte("\r\n"))
			if !yield(line) {
				return
			}
		}
	}
}

// knownNames are the header names (and compact forms) HeaderName tells.
var knownNames = []string{"call-id", "i", "cseq", "via", "v", "from", "f", "to", "t", "content-length", "l"}

// HeaderName is a header line's name, lower-cased, for the few names an
// answer or a read of the dialog needs; any other name comes back as "".
func HeaderName(line []byte) string {
	name, _, _ := bytes.Cut(line, []byte(":"))
	name = bytes.TrimSpace(name)
	for _, known := range knownNames {
		if len(name) == len(known) && strings.EqualFold(string(name), known) {
			return known
		}
	}
	return ""
}

// AppendOK appends a 200 to req built from its Via, From, To, Call-ID and
// CSeq lines (RFC 3261 §8.2.6.2).
func AppendOK(dst, req []byte) []byte { return AppendAnswer(dst, req, "", "", "") }

// AppendAnswer is AppendOK with toTag added to a To line that has no tag
// (a request in a dialog keeps its own), then headers (whole lines,
// CRLF-ended) and body.
func AppendAnswer(dst, req []byte, toTag, headers, body string) []byte {
	return AppendResponse(dst, req, 200, "OK", toTag, headers, body)
}

// AppendResponse is AppendAnswer with any status and reason phrase.
func AppendResponse(dst, req []byte, status int, reason, toTag, headers, body string) []byte {
	dst = append(dst, "SIP/2.0 "...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason...)
	dst = append(dst, "\r\n"...)
	for line := range HeaderLines(req) {
		name := HeaderName(line)
		switch name {
		case "via", "v", "from", "f", "to", "t", "call-id", "i", "cseq":
			dst = append(dst, line...)
			if toTag != "" && (name == "to" || name == "t") && !hasTag(line) {
				dst = append(dst, ";tag="+toTag...)
			}
			dst = append(dst, "\r\n"...)
		}
	}
	dst = append(dst, headers+"Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, body...)
}

// hasTag reports whether a To or From line has a tag parameter: after
// the URI's closing '>' when it has one (a ;tag= inside <...> is the
// URI's), in any case of the name. It allocates nothing.
func hasTag(line []byte) bool {
	_, v, _ := bytes.Cut(line, []byte(":"))
	if i := bytes.LastIndexByte(v, '>'); i >= 0 {
		v = v[i+1:]
	}
	for {
		i := bytes.IndexByte(v, ';')
		if i < 0 {
			return false
		}
		v = bytes.TrimLeft(v[i+1:], " \t")
		if len(v) >= 3 && strings.EqualFold(string(v[:3]), "tag") {
			if rest := bytes.TrimLeft(v[3:], " \t"); len(rest) > 0 && rest[0] == '=' {
				return true
			}
		}
	}
}

// Transaction names a request by a hash of its Call-ID and CSeq lines: the
// same name twice is a retransmission.
func Transaction(seed maphash.Seed, req []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	for line := range HeaderLines(req) {
		switch HeaderName(line) {
		case "call-id", "i", "cseq":
			h.Write(line)
		}
	}
	return h.Sum64()
}
