package sipcore

import (
	"bytes"
	"strconv"
)

// notifyAnswer takes a UDP response to one of parkd's NOTIFYs (or BYEs) straight
// from the socket's bytes: a fan-out to a thousand subscribers brings a
// thousand 200s, and sipgo would parse each whole and start a goroutine
// for it only to find no transaction of its own. It reads the status code
// and the top Via's branch alone; the branch carries a random 64-bit
// transaction id, so a forged answer has to guess it. false leaves the
// message to sipgo (anything else, or anything it cannot read).
func (ep *Endpoint) notifyAnswer(data []byte) bool {
	status, ok := responseStatus(data)
	if !ok {
		return false
	}
	id, ok := branchID(string(topViaBranch(data)))
	if !ok {
		return false
	}
	// false: a late retransmission, or not ours; sipgo's rules apply.
	return ep.notifyAnswered(id, status)
}

// responseStatus reads the code of "SIP/2.0 NNN reason".
func responseStatus(data []byte) (int, bool) {
	const prefix = "SIP/2.0 "
	if len(data) < len(prefix)+4 || string(data[:len(prefix)]) != prefix || data[len(prefix)+3] != ' ' {
		return 0, false
	}
	code, err := strconv.Atoi(string(data[len(prefix) : len(prefix)+3]))
	if err != nil || code < 100 || code > 699 {
		return 0, false
	}
	return code, true
}

// topViaBranch returns the branch parameter of the first Via header (long
// or compact form), or nil. It reads the header lines in place, without
// allocating: the read loop runs it on every 200 of a fan-out.
func topViaBranch(data []byte) []byte {
	_, rest, _ := bytes.Cut(data, []byte("\r\n")) // the status line
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(line) == 0 {
			return nil // the end of the headers
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if !bytes.EqualFold(name, []byte("via")) && !bytes.EqualFold(name, []byte("v")) {
			continue
		}
		value, _, _ = bytes.Cut(value, []byte(",")) // the top one of several in a line
		_, params, _ := bytes.Cut(value, []byte(";"))
		for len(params) > 0 {
			var param []byte
			param, params, _ = bytes.Cut(params, []byte(";"))
			k, v, _ := bytes.Cut(param, []byte("="))
			if bytes.EqualFold(bytes.TrimSpace(k), []byte("branch")) {
				return bytes.TrimSpace(v)
			}
		}
		return nil
	}
	return nil
}
