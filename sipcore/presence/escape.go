package presence

import "unicode/utf8"

// xmlDecl starts every document: phones' XML parsers differ in what they
// assume without it, and with it none has to guess the encoding.
const xmlDecl = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// appendEscaped appends s as XML 1.0 character data that is safe both as
// element text and inside a double-quoted attribute value, so the builders
// need only one escaper. Tab and newline become character references
// because attribute-value normalisation would otherwise turn them into
// spaces. Invalid UTF-8 and the runes xmlRune rejects become U+FFFD: display
// names come from SIP headers of arbitrary phones, and one stray byte must
// not make a body that every subscriber's parser rejects.
func appendEscaped(dst []byte, s string) []byte {
	for _, r := range s { // invalid UTF-8 arrives here as U+FFFD
		switch r {
		case '&':
			dst = append(dst, "&amp;"...)
		case '<':
			dst = append(dst, "&lt;"...)
		case '>':
			dst = append(dst, "&gt;"...)
		case '"':
			dst = append(dst, "&quot;"...)
		case '\t':
			dst = append(dst, "&#x9;"...)
		case '\n':
			dst = append(dst, "&#xA;"...)
		default:
			dst = utf8.AppendRune(dst, xmlRune(r))
		}
	}
	return dst
}

// xmlRune returns r, or U+FFFD for a rune the builders will not emit: C0
// controls other than tab and newline (XML 1.0 forbids all but carriage
// return, and a carriage return in a display name is header debris, not
// text), DEL and the C1 controls (allowed but discouraged by XML 1.0, and
// just as meaningless in a name), and U+FFFE/U+FFFF (not XML characters).
// Tests use it too, to predict what a round trip gives back.
func xmlRune(r rune) rune {
	switch {
	case r == '\t' || r == '\n':
		return r
	case r < 0x20, r >= 0x7f && r <= 0x9f, r == 0xfffe, r == 0xffff:
		return utf8.RuneError
	}
	return r
}
